//go:build !purego

#include "textflag.h"

// bitTab[k] is 1 << (k & 7): the bit a byte with high nibble k has in the
// entries of a byteSet's tables.
DATA bitTab<>+0(SB)/8, $0x8040201008040201
DATA bitTab<>+8(SB)/8, $0x8040201008040201
GLOBL bitTab<>(SB), RODATA|NOPTR, $16

// func indexTriggerAVX2(t *nibbleTables, b []byte, from int) int
//
// Each step loads the 32 bytes at b[i:] and the 32 before them, b[i-1:],
// looks both up in the nibble tables (membership of a byte: the entry at
// its low nibble, from the lo table by PSHUFB, which yields 0 for a byte
// with its top bit set, or from the hi table for the byte with its top bit
// flipped; then the bit for its bits 4-6), and keeps the byte's "other"
// classes where the byte before is outside the word set, its "in word"
// classes where it is inside.
TEXT ·indexTriggerAVX2(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), AX
	MOVQ b_base+8(FP), SI
	MOVQ b_len+16(FP), DX
	MOVQ from+32(FP), CX

	VBROADCASTI128 0(AX), Y0  // other.lo
	VBROADCASTI128 16(AX), Y1 // other.hi
	VBROADCASTI128 32(AX), Y2 // inWord.lo
	VBROADCASTI128 48(AX), Y3 // inWord.hi
	VBROADCASTI128 64(AX), Y4 // word.lo
	VBROADCASTI128 80(AX), Y5 // word.hi
	VBROADCASTI128 bitTab<>(SB), Y6
	MOVQ $0x0f, BX
	MOVQ BX, X7
	VPBROADCASTB X7, Y7 // low nibble mask
	MOVQ $0x80, BX
	MOVQ BX, X8
	VPBROADCASTB X8, Y8 // top bit
	VPXOR Y9, Y9, Y9

	SUBQ $32, DX // the last start of a whole block

loop:
	CMPQ CX, DX
	JGT  done
	VMOVDQU (SI)(CX*1), Y10   // the bytes
	VMOVDQU -1(SI)(CX*1), Y11 // the bytes before them

	// The bytes' classes: Y14 nonzero where in other, Y15 where in inWord.
	VPSRLW   $4, Y10, Y12
	VPAND    Y7, Y12, Y12
	VPSHUFB  Y12, Y6, Y12 // the bit of each byte's bits 4-6
	VPXOR    Y8, Y10, Y13
	VPSHUFB  Y10, Y0, Y14
	VPSHUFB  Y13, Y1, Y15
	VPOR     Y15, Y14, Y14
	VPAND    Y12, Y14, Y14
	VPSHUFB  Y10, Y2, Y15
	VPSHUFB  Y13, Y3, Y13
	VPOR     Y13, Y15, Y15
	VPAND    Y12, Y15, Y15

	// The bytes before: Y11 all ones where in word.
	VPSRLW   $4, Y11, Y12
	VPAND    Y7, Y12, Y12
	VPSHUFB  Y12, Y6, Y12
	VPXOR    Y8, Y11, Y13
	VPSHUFB  Y11, Y4, Y11
	VPSHUFB  Y13, Y5, Y13
	VPOR     Y13, Y11, Y11
	VPAND    Y12, Y11, Y11
	VPCMPEQB Y12, Y11, Y11

	VPANDN   Y14, Y11, Y14 // other, where the byte before is not in word
	VPAND    Y15, Y11, Y15 // inWord, where it is
	VPOR     Y15, Y14, Y14
	VPCMPEQB Y9, Y14, Y14  // all ones where nothing triggers
	VPMOVMSKB Y14, BX
	CMPL     BX, $0xffffffff
	JNE      found
	ADDQ     $32, CX
	JMP      loop

found:
	NOTL BX
	BSFL BX, BX
	ADDQ BX, CX

done:
	VZEROUPPER
	MOVQ CX, ret+40(FP)
	RET
