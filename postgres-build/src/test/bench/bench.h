/*
 * bench.h
 *	  What the files of the C bench share (pgembed_bench.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include "pgembedded.h"

extern double now_ms(void);
extern void quiet(void *c, int l, const char *s);
extern void must(pgembed_result *r, const char *what);
extern int	cmp(const void *a, const void *b);
extern pgembed_cluster *cluster_open_quiet(const char *dir);
extern pgembed_cluster *cluster_open_with(const char *dir, int nsettings, const char *const *settings);

/* bench_background.c */
extern void background_figures(const char *base);

#endif
