#include <math.h>
#include "wordstat.h"

void stats_finish(struct stats *st, const unsigned long *len_hist, size_t nhist)
{
	double sum = 0, sumsq = 0, n = 0;

	for (size_t len = 0; len < nhist; len++) {
		n += len_hist[len];
		sum += (double)len * len_hist[len];
		sumsq += (double)len * len * len_hist[len];
	}
	if (n == 0) {
		st->mean_len = st->stddev_len = 0;
		return;
	}
	st->mean_len = sum / n;
	st->stddev_len = sqrt(fmax(0, sumsq / n - st->mean_len * st->mean_len));
}
