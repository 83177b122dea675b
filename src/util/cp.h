/* util: Clopper-Pearson: the ends of the two-sided 95% interval for the
 * probability of an event seen k times in n trials (exact binomial tails,
 * bisection to double precision). */
#ifndef IBC_UTIL_CP_H
#define IBC_UTIL_CP_H

double ibc_util_cp_upper(long k, long n);
double ibc_util_cp_lower(long k, long n);

#endif
