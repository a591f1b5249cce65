// SPDX-License-Identifier: MIT
/* Option values shared by the commands (cli/cli.h). */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>

int cli_parse_duration(const char *s, double *secs)
{
	char *end;
	double v = strtod(s, &end);

	/*
	 * !(v > 0) also refuses NaN; under 1 ns would round to 0 ns, which means "no duration"; the
	 * cap keeps v * 1e9 ns far inside 64 bits
	 */
	if (end == s || *end || !isfinite(v) || !(v >= 1e-9) || v > CLI_DURATION_MAX_S)
		return -1;
	*secs = v;
	return 0;
}
