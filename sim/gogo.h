/* SPDX-License-Identifier: MIT */
/* Goroutine stacks and context switches (sim/gogo.c). */
#ifndef NPS_SIM_GOGO_H
#define NPS_SIM_GOGO_H

#include "sim/runtime.h"

/* Address space per goroutine stack: only touched pages cost memory. Sanitizers need more. */
#if defined(NPS_ASAN) || defined(NPS_TSAN)
#define NPS_STACK_SIZE (1024 * 1024)
#else
#define NPS_STACK_SIZE (256 * 1024)
#endif

int stack_alloc(struct g *gp, size_t size); /* 0 or -errno */
void stack_free(struct g *gp);
void stack_prepare(struct g *gp); /* make the next switch to gp start nps_gostart */
void g0_init(struct g *g0);	  /* g0 = the calling thread's own stack */
void gogo_switch(struct g *from,
		 struct g *to);	 /* save from, resume to; returns when from resumes */
void gogo_started(struct g *gp); /* first thing a new goroutine does */
void setm(struct m *mp);

#endif /* NPS_SIM_GOGO_H */
