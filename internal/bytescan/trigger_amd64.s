//go:build !purego

#include "textflag.h"

// bitTab[k] is 1 << (k & 7): the bit a byte with high nibble k has in the
// entries of a byteSet's tables.
DATA bitTab<>+0(SB)/8, $0x8040201008040201
DATA bitTab<>+8(SB)/8, $0x8040201008040201
GLOBL bitTab<>(SB), RODATA|NOPTR, $16

// BLOCK leaves in ret the bits, one per byte, of the triggers among the 32
// bytes at (SI)(CX*1)+off: all ones in the mask of each, from PMOVMSKB
// of the bytes that do not trigger.
//
// It looks the bytes and the bytes before them (one byte earlier) up in
// the nibble tables: membership of a byte is the entry at its low nibble,
// from the lo table by PSHUFB (which yields 0 for a byte with its top bit
// set) or from the hi table for the byte with its top bit flipped, tested
// against the bit of its bits 4-6. A byte keeps its "other" classes where
// the byte before is outside the word set, its "inWord" classes where it
// is inside.
#define BLOCK(off, ret) \
	VMOVDQU  off(SI)(CX*1), Y10 \
	VMOVDQU  off-1(SI)(CX*1), Y11 \
	VPSRLW   $4, Y10, Y12 \
	VPAND    Y7, Y12, Y12 \
	VPSHUFB  Y12, Y6, Y12 \
	VPXOR    Y8, Y10, Y13 \
	VPSHUFB  Y10, Y0, Y14 \
	VPSHUFB  Y13, Y1, Y15 \
	VPOR     Y15, Y14, Y14 \
	VPAND    Y12, Y14, Y14 \
	VPSHUFB  Y10, Y2, Y15 \
	VPSHUFB  Y13, Y3, Y13 \
	VPOR     Y13, Y15, Y15 \
	VPAND    Y12, Y15, Y15 \
	VPSRLW   $4, Y11, Y12 \
	VPAND    Y7, Y12, Y12 \
	VPSHUFB  Y12, Y6, Y12 \
	VPXOR    Y8, Y11, Y13 \
	VPSHUFB  Y11, Y4, Y11 \
	VPSHUFB  Y13, Y5, Y13 \
	VPOR     Y13, Y11, Y11 \
	VPAND    Y12, Y11, Y11 \
	VPCMPEQB Y12, Y11, Y11 \
	VPANDN   Y14, Y11, Y14 \
	VPAND    Y15, Y11, Y15 \
	VPOR     Y15, Y14, Y14 \
	VPCMPEQB Y9, Y14, Y14 \
	VPMOVMSKB Y14, ret \
	NOTL     ret

// func triggerMaskAVX2(t *nibbleTables, b []byte, i int) uint64
//
// Bit k of the result is set if b[i+k] is a trigger, for k < 64; it reads
// b[i-1:i+64].
TEXT ·triggerMaskAVX2(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), AX
	MOVQ b_base+8(FP), SI
	MOVQ i+32(FP), CX

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

	BLOCK(0, BX)
	BLOCK(32, DX)
	SHLQ $32, DX
	ORQ  DX, BX
	VZEROUPPER
	MOVQ BX, ret+40(FP)
	RET
