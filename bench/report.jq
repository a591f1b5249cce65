# SPDX-License-Identifier: MIT
# bench/report.jq: turns bench/run.sh's raw results into the markdown report. Input (jq -s):
# meta.json's object, then every line of runs.jsonl. Figures are medians over the rounds of one
# invocation; a ratio is the ratio of two medians measured in the same rounds. Runs that failed
# or were skipped are left out of the medians and listed under the tables, never filled in.
# Usage: jq -r -s -f bench/report.jq --argjson secs N meta.json runs.jsonl

def median: map(select(type == "number")) | sort
	| if length == 0 then null
	  elif length % 2 == 1 then .[(length - 1) / 2]
	  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
# (max - min) / median: how far apart the rounds were.
def spread: map(select(type == "number")) as $v
	| if ($v | length) < 2 or ($v | median) == 0 then null
	  else (($v | max) - ($v | min)) / ($v | median) end;
def commas: if . == null then "—" else (round | tostring) as $s | ($s | length) as $n
	| [range(0; $n) | $s[.:. + 1] + (if ($n - . - 1) % 3 == 0 and . < $n - 1 then "," else "" end)]
	| join("") end;
def f2: if . == null then "—" else (. * 100 | round) as $x
	| "\($x / 100 | floor).\($x % 100 | tostring | if length < 2 then "0" + . else . end)" end;
def pct: if . == null then "—" else "\(. * 100 | round)%" end;
def mb: if . == null then "—" else (. / 102.4 | round / 10 | tostring) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
def verdict($x; $op; $t): if $x == null then "pending"
	elif ($op == ">=" and $x >= $t) or ($op == "<=" and $x <= $t) then "met"
	else "**missed**" end;
def nums: split(" ") | map(select(length > 0) | tonumber);
def good: select(.failed == null and .skipped == null);
def median_of(f): map(f) | median;
def cell_fmt: if length == 0 then "—"
	else (median_of(.rt_per_s) | commas) + (map(.rt_per_s) | spread
		| if . == null then "" else " ±\(. / 2 * 100 | round)%" end) end;

# The ratio a/b of each round that ran both (same round: back to back), and how many of those
# ratios meet a target ("8 of 15"): how far a verdict near the line can be trusted.
def round_ratios($a; $b): [$a[] as $x | $b[] | select(.round == $x.round and .rt_per_s > 0)
	| $x.rt_per_s / .rt_per_s];
def at_target($t): "\([.[] | select(. >= $t)] | length) of \(length)";
# Where the median of the per-round ratios lies, without assuming how they are distributed
# (order statistics, as the sign test): the narrowest [x(k), x(n+1-k)] of the sorted ratios
# whose confidence, 1 - 2 P(B <= k-1) with B ~ Binomial(n, 1/2), reaches 95 %; with too few
# rounds for that, [min, max] and its lower confidence. null under 2 rounds.
def median_interval: map(select(type == "number")) | sort as $s | ($s | length) as $n
	| if $n < 2 then null else
	  [foreach range(0; $n + 1) as $i (1; if $i == 0 then 1 else . * ($n - $i + 1) / $i end)
	   | . / pow(2; $n)] as $pmf
	  | [range(1; ($n / 2 | floor) + 1) as $k | {k: $k, conf: (1 - 2 * ($pmf[0:$k] | add))}] as $c
	  | (([$c[] | select(.conf >= 0.95)] | last) // $c[0]) as $b
	  | {lo: $s[$b.k - 1], hi: $s[$n - $b.k], conf: $b.conf} end;
def interval_fmt: if . == null then "—" else "\(.lo | f2)-\(.hi | f2) (\(.conf | pct))" end;
# The verdict the interval allows: the target is met or missed only when the whole interval is
# on one side of it; otherwise this run cannot tell ("at the line").
def interval_verdict($t): if . == null then "pending" elif .lo >= $t then "met"
	elif .hi < $t then "**missed**" else "at the line" end;

(.[] | select(.section == "meta")) as $m
| [.[] | select(.section != "meta")] as $runs
| ($m.ncpu | tonumber) as $ncpu
| def runs($sec; $srv; $var): [$runs[] | select(.section == $sec and .server == $srv and .variant == $var) | good];
  def echo($srv; $c; $p): [runs("echo"; $srv; "plain")[] | select(.conns == $c and ($srv == "epoll" or .procs == $p))];
  def skipped($sec): [$runs[] | select(.section == $sec and .skipped != null)
	| "- \(.server)\(if .variant != "" and .variant != "plain" then " (" + .variant + ")" else "" end) skipped: \(.skipped)"] | unique;
  def failed($sec): [$runs[] | select(.section == $sec and .failed != null)] as $f
	| if ($f | length) == 0 then []
	  else ["- \($f | length) run(s) failed and are left out, e.g. \($f[0].server) \($f[0].variant // "") c=\($f[0].conns // "-") P=\($f[0].procs // "-"): \($f[0].failed)"] end;
  # Runs repeated because other processes competed, and runs kept although they still did.
  def disturbed($sec): [$runs[] | select(.section == $sec) | good] as $r
	| ([$r[] | .retries // 0] | add // 0) as $again
	| ([$r[] | select((.other_cpu // 0) > ($m.max_other | tonumber))] | length) as $kept
	| if $again == 0 and $kept == 0 then []
	  else ["- other processes competed for the CPUs: \($again) run(s) repeated, \($kept) kept although still disturbed (> \($m.max_other) CPUs)"] end;
  def notes($sec): (skipped($sec) + failed($sec) + disturbed($sec))
	| if length == 0 then "" else "\n" + join("\n") + "\n" end;
  def has($sec): any($runs[]; .section == $sec);
  # The CPUs of a run's pinning, from "0" or "0-1".
  def cpuset: tostring | if test("-") then split("-") | map(tonumber) | [range(.[0]; .[1] + 1)]
	else [tonumber] end;
  # Busy share (0-1) of the server's CPUs and of the client's, from /proc/stat over the window.
  def srv_busy: . as $r | ($r.server_cpus | cpuset) | map($r.cpu_busy[.] // empty)
	| if length == 0 then null else add / length end;
  def cli_busy: .cpu_busy[.client_cpu_id] // null;
  # What limited a run: a side whose CPUs were >= 90% busy ("both": each on its own CPU and
  # both busy; "shared": client and server share a CPU and all were busy); neither: latency.
  def bound: (median_of(srv_busy)) as $s | (median_of(cli_busy)) as $c
	| (.[0] | (.client_cpu_id as $id | .server_cpus | cpuset | index($id)) != null) as $shared
	| if $s == null or $c == null then "—"
	  elif $shared then (if $s >= 0.9 and $c >= 0.9 then "shared CPUs" else "latency" end)
	  elif $s >= 0.9 and $c >= 0.9 then "both"
	  elif $s >= 0.9 then "server"
	  elif $c >= 0.9 then "client"
	  else "latency" end;

"# netpollsim benchmarks",
"",
"- date \($m.date), commit \($m.rev), \($m.ncpu) × \($m.cpu), kernel \($m.kernel), Go \($m.go)",
"- command: `\($m.cmd)`\(if $secs > 0 then " (took \($secs / 60 | . * 10 | round / 10) min)" else "" end)",
"- \($m.rounds) rounds, each server started fresh per run; load client warm-up \($m.warmup) s, window \($m.duration) s\(if $m.client_args != "" then ", client options `" + $m.client_args + "`" else "" end); a run is repeated (up to \($m.retries)×) when other processes used more than \($m.max_other) CPUs in its window; load average at the start \($m.load1)",
"- pinning: GOMAXPROCS 1 and epoll: \($m.pin1); GOMAXPROCS 2: \($m.pin2)",
"- figures are medians over the rounds; ± is half the spread (max − min) / median; ratios are ratios of medians",

(if has("echo") then
	($m.conns | nums) as $conns | ($m.procs | nums) as $procs
	| "",
	"## Echo round trips per second (64-byte messages, one client)",
	"",
	"| conns | procs | epoll (ceiling) | Go | sim | sim/Go | sim/epoll | Go/epoll |",
	"|---:|---:|---:|---:|---:|---:|---:|---:|",
	($conns[] as $c | $procs[] as $p
		| echo("epoll"; $c; $p) as $e | echo("go"; $c; $p) as $g | echo("sim"; $c; $p) as $s
		| ($e | median_of(.rt_per_s)) as $em | ($g | median_of(.rt_per_s)) as $gm
		| ($s | median_of(.rt_per_s)) as $sm
		| "| \($c) | \($p) | \($e | cell_fmt) | \($g | cell_fmt) | \(if ($s | length) == 0 then "pending" else ($s | cell_fmt) end) | \(ratio($sm; $gm) | f2) | \(ratio($sm; $em) | f2) | \(ratio($gm; $em) | f2) |"),
	"",
	"Targets at c=50: " + ([$procs[] as $p
		| echo("sim"; 50; $p) as $s | echo("go"; 50; $p) as $g | echo("epoll"; 50; $p) as $e
		| ratio($s | median_of(.rt_per_s); $g | median_of(.rt_per_s)) as $sg
		| ratio($s | median_of(.rt_per_s); $e | median_of(.rt_per_s)) as $se
		| def target($r; $t): "\($r | at_target($t)) rounds; per round \($r | median_interval | interval_fmt): \($r | median_interval | interval_verdict($t))";
		"P=\($p): sim/Go ≥ 1.0 \(verdict($sg; ">="; 1.0)) (\(target(round_ratios($s; $g); 1.0))), sim/epoll ≥ 0.8 \(verdict($se; ">="; 0.8)) (\(target(round_ratios($s; $e); 0.8)))"] | join("; ")) + ".",
	"",
	"Load client self-check (medians). Process CPU: the process's own user + system time, in CPUs;",
	"CPU busy: the share of its pinned CPUs that was busy in the window, softirq included (on",
	"loopback the TCP receive path runs in softirq on the sender's CPU and is charged to no",
	"process), and any other process on the machine. Others: CPU time of every other process in",
	"the window. Bound: the side whose CPUs were ≥ 90 % busy.",
	"",
	"| conns | procs | server | client process | client CPU busy | server process | server CPUs busy | others | bound | slowest / fastest conn |",
	"|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
	($conns[] as $c | $procs[] as $p | ("epoll", "go", "sim") as $srv
		| select($srv != "epoll" or $p == $procs[0])
		| echo($srv; $c; $p) as $r | select($r | length > 0)
		| "| \($c) | \(if $srv == "epoll" then "-" else $p end) | \($srv) | \($r | median_of(.client_cpu) | pct) | \($r | median_of(cli_busy) | pct) | \($r | median_of(.server_cpu) | pct) | \($r | median_of(srv_busy) | pct) | \($r | median_of(.other_cpu) | pct) | \($r | bound) | \(ratio($r | median_of(.conn_min_rt_per_s); $r | median_of(.conn_max_rt_per_s)) | f2) |"),
	notes("echo")
else empty end),

(if has("costs") then
	($m.cost_procs | nums) as $procs | ($m.cost_conns | tonumber) as $c
	| def cost($v; $p): [runs("costs"; "sim"; $v)[] | select(.procs == $p)] | median_of(.rt_per_s);
	# Paired: the median of the per-round ratios. Each round runs every variant back to back,
	# so a slow phase of the machine that spans a round cancels out of its ratio.
	def pairs($base; $with; $p): round_ratios([runs("costs"; "sim"; $with)[] | select(.procs == $p)];
		[runs("costs"; "sim"; $base)[] | select(.procs == $p)]);
	"",
	"## Costs of observing the sim (echo at c=\($c), same rounds)",
	"",
	"Paired: the median of the per-round ratios; its interval holds that median with the confidence",
	"given (order statistics); the verdict by the interval is \"at the line\" when the target is inside it.",
	"",
	"| cost | procs | without (rt/s) | with (rt/s) | with/without | paired | paired interval | rounds at target | target | verdict | by the interval |",
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
	($procs[] as $p
		| (["event log (--no-events vs on)", "noevents", "plain", 0.90],
		   ["recording (--record vs not)", "plain", "record", 0.90],
		   ["eBPF probes (on vs --no-bpf)", "plain", "probes", 0.95],
		   ["eBPF probes + break-pipe probes (--bpf-break on)", "plain", "probes-break", 0.95]) as [$name, $base, $with, $t]
		| cost($base; $p) as $b | cost($with; $p) as $w | pairs($base; $with; $p) as $r
		| ($r | median_interval) as $i
		| "| \($name) | \($p) | \($b | commas) | \($w | commas) | \(ratio($w; $b) | f2) | \($r | median | f2) | \($i | interval_fmt) | \($r | at_target($t)) | ≥ \($t | f2) | \(verdict(ratio($w; $b); ">="; $t)) | \($i | interval_verdict($t)) |"),
	(runs("costs"; "sim"; "probes") | select(length > 0)
		| map(select(.lost_kernel != null) | .lost_sim + .lost_kernel) as $lost
		| "| lost events with the probes on (default rings), worst run | \($procs | join(",")) | | \(if $lost == [] then "unknown (no exit summary)" else ($lost | max | tostring) end) | | | | | 0 | \(verdict($lost | max; "<="; 0)) | |"),
	notes("costs")
else empty end),

(if has("idle") then
	def idle($srv): [$runs[] | select(.section == "idle" and .server == $srv) | good];
	($m.idle_conns | tonumber) as $n
	| "",
	"## Memory with \($n) idle connections (server VmRSS while the client holds them open)",
	"",
	"| server | VmRSS (MB) | VmHWM (MB) | before connections (MB) | per connection (KB) | sim/server |",
	"|---|---:|---:|---:|---:|---:|",
	(idle("sim") | median_of(.rss_kb)) as $simrss
	| (("sim", "go", "epoll") as $srv | idle($srv) as $r | select($r | length > 0)
		| ($r | median_of(.rss_kb)) as $rss | ($r | median_of(.base_rss_kb)) as $base
		| "| \($srv) | \($rss | mb) | \($r | median_of(.hwm_kb) | mb) | \($base | mb) | \(if $rss != null and $base != null then (($rss - $base) / $n * 10 | round / 10 | tostring) else "—" end) | \(ratio($simrss; $rss) | f2) |"),
	"",
	"Target: sim ≤ 100 MB with \($n) idle connections: \(verdict($simrss | if . == null then null else . / 1024 end; "<="; 100)).",
	notes("idle")
else empty end),

(if has("trace") then
	[$runs[] | select(.section == "trace") | good] as $t
	| ($t | median_of(.check_s)) as $cs | ($t | median_of(.replay_s)) as $rs
	| ([$t[] | .check_rss_kb, .replay_rss_kb] | max) as $rss
	# The trace holds 1.0-1.1 times the events wanted: scale the times to exactly that many.
	| (($m.trace_events | tonumber) / ($t[0].events // 1)) as $k
	| def per($s): if $s == null then "—" else ($s * $k | f2) end;
	"",
	"## Trace tools on a \($t[0].events // $m.trace_events)-event trace",
	"",
	"| step | wall (s) | per \($m.trace_events) events (s) | max RSS (MB) | exit status |",
	"|---|---:|---:|---:|---:|",
	(select($t | length > 0)
		| "| netpollsim check | \($cs | f2) | \(per($cs)) | \($t | median_of(.check_rss_kb) | mb) | \([$t[].check_rc] | unique | join(",")) |",
		  "| netpollsim replay --no-ui --narrate | \($rs | f2) | \(per($rs)) | \($t | median_of(.replay_rss_kb) | mb) | \([$t[].replay_rc] | unique | join(",")) |",
		  "| baseline: jq parsing the same file | \($t | median_of(.jq_s) | f2) | \(per($t | median_of(.jq_s))) | \($t | median_of(.jq_rss_kb) | mb) | |",
		  "",
		  (if $cs == null or $rs == null then null else ($cs + $rs) * $k end) as $sum
		  | "Targets, for \($m.trace_events) events: check + replay ≤ 2 s: \(verdict($sum; "<="; 2)) (\($sum | f2) s); ≤ 300 MB: \(verdict($rss | if . == null then null else . / 1024 end; "<="; 300)).",
		  (if ([$t[] | .check_rc, .replay_rc] | any(. != 0)) then "", "**The checker or the replay failed on the trace** (exit status above): see the run's log." else empty end)),
	([$runs[] | select(.section == "writer") | good] | select(length > 0) as $w
		| "",
		  "The trace writer alone on the same events (bench/tracewrite, medians): \($w | median_of(.bytes_per_event) | f2) bytes and \($w | median_of(.format_ns) | f2) ns of formatting an event; writing \($w[0].mb) MB to a new file costs the kernel \($w | median_of(.pagecache_sys_ns) | f2) ns an event through the page cache, \($w | median_of(.direct_sys_ns) | f2) ns with direct writes (what `run --record` uses for big flushes)."),
	notes("trace")
else empty end)
