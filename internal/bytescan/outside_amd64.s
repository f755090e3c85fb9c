//go:build !purego

#include "textflag.h"

// func indexOutsideAVX2(b []byte, lo, x, y byte) int
//
// A signed compare with lo flags the bytes below it and every byte with
// its top bit set (negative as signed bytes) at once.
TEXT ·indexOutsideAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVBLZX lo+24(FP), AX
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVBLZX x+25(FP), AX
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVBLZX y+26(FP), AX
	MOVQ AX, X3
	VPBROADCASTB X3, Y3
	XORQ CX, CX
	SUBQ $32, DX // the last start of a whole block

loop:
	CMPQ CX, DX
	JGT  done
	VMOVDQU   (SI)(CX*1), Y0
	VPCMPGTB  Y0, Y1, Y4 // lo > byte, signed
	VPCMPEQB  Y0, Y2, Y5
	VPCMPEQB  Y0, Y3, Y6
	VPOR      Y5, Y4, Y4
	VPOR      Y6, Y4, Y4
	VPMOVMSKB Y4, BX
	TESTL     BX, BX
	JNZ       found
	ADDQ      $32, CX
	JMP       loop

found:
	BSFL BX, BX
	ADDQ BX, CX

done:
	VZEROUPPER
	MOVQ CX, ret+32(FP)
	RET
