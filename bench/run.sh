#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark runner (bench/README.md). It measures netpollsim's echo server against two
# baselines started in the same invocation, a plain edge-triggered epoll server in C (the
# ceiling) and a goroutine-per-connection Go server, with one C load client; then the costs of
# the sim's event log, recording and probes; the memory of 10,000 idle connections; and the
# trace tools on a 1,000,000-event trace. Every server runs K rounds, interleaved within each
# round and in a rotated order, so machine noise hits all of them alike; results are medians and
# ratios of medians. Each measurement starts a fresh server, pinned with taskset (server on CPU 0,
# client on CPU 1; with GOMAXPROCS=2 the server gets both CPUs, see bench/README.md). Raw results
# (one JSON line per run), the logs of failed runs and the markdown report go to bench/results/
# (git-ignored); the report is also printed. A part whose prerequisites are missing (the sim
# server, the trace writer, root for probes) is skipped with the reason, never faked.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BIN=build/bench
NPS=build/netpollsim
ROUNDS=5
WARMUP=1
DURATION=3
CONNS="1 50 500"
PROCS="1 2"
SERVERS="sim go epoll"
SECTIONS="echo,costs,idle,trace"
COST_CONNS=50
COST_PROCS="1"
IDLE_CONNS=10000
IDLE_PROCS=1
IDLE_ROUNDS=3
TRACE_EVENTS=1000000
TRACE_ROUNDS=3
CLIENT_ARGS=""
MAX_OTHER=0.2
RETRIES=2
OUT=""
CMDLINE="bench/run.sh $*"

usage() {
	cat <<EOF
usage: bench/run.sh [OPTIONS]

Runs the netpollsim benchmarks and prints a markdown report (also written to bench/results/).

  --rounds K          rounds per measurement (default $ROUNDS)
  --warmup S          client warm-up seconds before each window (default $WARMUP)
  --duration S        measured window, seconds (default $DURATION)
  --conns "LIST"      connection counts (default "$CONNS")
  --procs "LIST"      GOMAXPROCS / --procs values for sim and Go (default "$PROCS")
  --servers "LIST"    among sim go epoll (default "$SERVERS")
  --only LIST         sections, comma-separated: echo,costs,idle,trace (default all)
  --idle-conns N      connections of the idle-memory benchmark (default $IDLE_CONNS)
  --trace-events N    size of the trace-tools benchmark's trace (default $TRACE_EVENTS)
  --client-args "..." extra load client options, e.g. "--spin" or "--threads 2"
  --max-other X       repeat a run when other processes used more than X CPUs during its
                      window (default $MAX_OTHER)
  --retries N         how often at most (default $RETRIES; 0: never)
  --quick             2 rounds, 0.5 s warm-up, 1 s windows, 1 idle and trace round
  --out DIR           results directory (default bench/results/<date-time>)
  -h, --help          this text

examples:
  bench/run.sh                                 # everything, about 8-15 minutes
  bench/run.sh --only echo --servers "go epoll" --rounds 3
  make bench-quick                             # build, then bench/run.sh --quick
EOF
}

die() {
	echo "bench: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=${2:?}; shift ;;
	--warmup) WARMUP=${2:?}; shift ;;
	--duration) DURATION=${2:?}; shift ;;
	--conns) CONNS=${2:?}; shift ;;
	--procs) PROCS=${2:?}; shift ;;
	--servers) SERVERS=${2:?}; shift ;;
	--only) SECTIONS=${2:?}; shift ;;
	--idle-conns) IDLE_CONNS=${2:?}; shift ;;
	--trace-events) TRACE_EVENTS=${2:?}; shift ;;
	--client-args) CLIENT_ARGS=${2?}; shift ;;
	--max-other) MAX_OTHER=${2:?}; shift ;;
	--retries) RETRIES=${2:?}; shift ;;
	--quick) ROUNDS=2 WARMUP=0.5 DURATION=1 IDLE_ROUNDS=1 TRACE_ROUNDS=1 ;;
	--out) OUT=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option '$1' (try --help)" ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds '$ROUNDS': expected a whole number >= 1"
[[ $RETRIES =~ ^[0-9]+$ ]] || die "--retries '$RETRIES': expected a whole number"
[[ $MAX_OTHER =~ ^[0-9]*\.?[0-9]+$ ]] || die "--max-other '$MAX_OTHER': expected a number of CPUs, e.g. 0.2"

for b in loadclient epoll_echo go_echo; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: build it first with 'make bench' (or 'make $BIN/$b')"
done
for t in jq taskset ss; do
	command -v "$t" >/dev/null || die "'$t' not found: run 'make setup' (jq, util-linux, iproute2)"
done

# --- where things go ---------------------------------------------------------------------------
OUT=${OUT:-bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RUNS=$OUT/runs.jsonl
: >"$RUNS"
TMP=$(mktemp -d /tmp/nps-bench.XXXXXX) || die "mktemp failed"
# Run private copies: a 'make clean' or a rebuild elsewhere in the tree during a 15-minute run
# must neither break it nor mix two versions of a program in one report.
mkdir -p "$TMP/bin" && cp "$BIN/loadclient" "$BIN/epoll_echo" "$BIN/go_echo" "$TMP/bin/" ||
	die "cannot copy the benchmark programs to $TMP/bin"
[ -x "$BIN/tracewrite" ] && cp "$BIN/tracewrite" "$TMP/bin/" # optional: the trace section says
BIN=$TMP/bin
if [ -x "$NPS" ]; then
	cp "$NPS" "$TMP/bin/netpollsim" && NPS=$TMP/bin/netpollsim
fi
# Thousands of connections: let every child start with the hard limit of open files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# --- pinning -----------------------------------------------------------------------------------
# A server with P threads of work gets CPUs 0..P-1 and the client the next CPU. When the machine
# has no CPU left for the client (2 CPUs, P=2) the server gets every CPU and the client the last
# one: confining a GOMAXPROCS=2 runtime to one CPU would measure time-slicing, not a second P,
# and the client stays on the same single CPU in every cell so its cost is constant.
NCPU=$(nproc)
server_cpus() {
	local p=$1
	[ "$p" -ge "$NCPU" ] && p=$NCPU
	[ "$p" -ge 2 ] && echo "0-$((p - 1))" || echo 0
}
client_cpu() {
	local p=$1
	[ "$p" -lt "$NCPU" ] && echo "$p" || echo $((NCPU - 1))
}
if [ "$NCPU" -lt 2 ]; then
	echo "bench: warning: $NCPU CPU: server and client share it; ratios still hold, absolute figures do not" >&2
fi
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if [ "$(jq -n "$LOAD1 > 0.5")" = true ]; then
	echo "bench: warning: load average $LOAD1: other processes compete for the CPUs; figures will be noisier" >&2
fi

# --- the sim server ----------------------------------------------------------------------------
# The one place that knows netpollsim's command line. variant: plain (the echo benchmark:
# probes off), noevents (event log off), record (trace written to a file), probes (eBPF on).
sim_argv() { # port procs seconds variant record_file
	SIM_ARGV=("$NPS" run --scenario echo --listen "127.0.0.1:$1" --clients 0 --procs "$2" --no-ui --duration "$3")
	case "$4" in
	plain) SIM_ARGV+=(--no-bpf) ;;
	noevents) SIM_ARGV+=(--no-bpf --no-events) ;;
	record) SIM_ARGV+=(--no-bpf --record "$5") ;;
	probes) ;; # the default: epoll probes; the break-pipe probes only when narrating/recording
	probes-break) SIM_ARGV+=(--bpf-break on) ;;
	esac
}
SIM_HELP=$([ -x "$NPS" ] && "$NPS" run --help 2>&1)
NPS_NAME=build/netpollsim # for messages: $NPS is the private copy
sim_has() { grep -q -e "$1" <<<"$SIM_HELP"; }
SIM_WHY=""
if [ ! -x "$NPS" ]; then
	SIM_WHY="$NPS_NAME is not built (make all)"
elif ! sim_has '--listen'; then
	SIM_WHY="'$NPS_NAME run --help' does not list --listen yet: the sim echo server has not landed"
fi
# sim_missing OPTION...: the reason a variant cannot run, or nothing.
sim_missing() {
	[ -n "$SIM_WHY" ] && { echo "$SIM_WHY"; return; }
	local o
	for o in "$@"; do
		sim_has "$o" || { echo "'$NPS_NAME run --help' does not list $o yet"; return; }
	done
}

# --- records -----------------------------------------------------------------------------------
# record JSON KEY=VALUE...: one line in runs.jsonl, JSON merged with the string/number fields.
record() {
	local json=$1 args=() kv
	shift
	for kv in "$@"; do
		args+=(--arg "${kv%%=*}" "${kv#*=}")
	done
	# (jq 1.6 loses values in '|= (tonumber? // .)': convert with try/catch instead)
	jq -c '. + ($ARGS.named | with_entries(.value = (.value as $v | try ($v | tonumber) catch $v)))' \
		"${args[@]}" <<<"$json" >>"$RUNS"
}
skip() { # section server variant reason
	echo "  skip    $1 $2${3:+ ($3)}: $4" >&2
	record '{}' section="$1" server="$2" variant="$3" skipped="$4"
}

# --- servers -----------------------------------------------------------------------------------
SRV_PID=""
CLI_PID=""
cleanup() {
	[ -n "$CLI_PID" ] && kill "$CLI_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench: interrupted; partial results in $OUT" >&2; exit 130' INT TERM

alive() { # a running process, not a zombie waiting to be reaped
	local st
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]
}

pick_port() { # a port below the ephemeral range that nothing uses, in any TCP state
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 12000))
		[ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ] && { echo "$p"; return; }
	done
	echo 0
}

# server_start NAME PROCS PORT SECONDS VARIANT RECORD_FILE: start one server in the background,
# pinned, and wait until it accepts connections. Sets SRV_PID; returns non-zero (with the
# reason in SRV_ERR) when it died or did not listen within 15 s.
server_start() {
	local name=$1 procs=$2 port=$3 secs=$4 variant=$5 rec=$6 argv
	case "$name" in
	epoll) argv=("$BIN/epoll_echo" --listen "127.0.0.1:$port") ;;
	go) argv=(env GOMAXPROCS="$procs" "$BIN/go_echo" -listen "127.0.0.1:$port") ;;
	sim) sim_argv "$port" "$procs" "$secs" "$variant" "$rec" && argv=("${SIM_ARGV[@]}") ;;
	esac
	SRV_LOG=$TMP/server.log
	# taskset and env exec the server, so $! is the server's own pid (for /proc/PID/*).
	taskset -c "$(server_cpus "$procs")" "${argv[@]}" >"$SRV_LOG" 2>&1 &
	SRV_PID=$!
	SRV_ERR=""
	for _ in $(seq 150); do
		if ! alive "$SRV_PID"; then
			SRV_ERR="exited at start: $(tail -n 3 "$SRV_LOG" | tr '\n' ' ')"
			server_stop
			return 1
		fi
		if "$BIN/loadclient" --probe --connect "127.0.0.1:$port" 2>/dev/null; then
			# The sim's main thread is its observer (it merges, folds, narrates and
			# records the events: the dashboard's side, not the simulated Go process).
			# Its Ms were created from the runtime thread and keep the server's CPUs;
			# the observer moves to the client's CPU, so what the runtime loses to the
			# event log is what the Ms pay to write it.
			[ "$name" = sim ] && taskset -p -c "$(client_cpu "$procs")" "$SRV_PID" >/dev/null
			return 0
		fi
		sleep 0.1
	done
	SRV_ERR="did not accept connections on 127.0.0.1:$port within 15 s"
	server_stop
	return 1
}

server_stop() { # SIGTERM, then SIGKILL after 20 s: the sim folds its events and flushes its
	# trace on SIGTERM, then prints a summary (lost events included) that we read
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	for _ in $(seq 200); do
		alive "$SRV_PID" || break
		sleep 0.1
	done
	alive "$SRV_PID" && echo "          (server $SRV_PID ignored SIGTERM for 20 s: killed)" >&2 &&
		kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=""
}

keep_log() { # keep the server's log of a failed run
	cp "$SRV_LOG" "$OUT/logs/$1.log" 2>/dev/null
	echo "          server log: $OUT/logs/$1.log" >&2
}

# --- one echo measurement ----------------------------------------------------------------------
# measure_once SERVER VARIANT CONNS PROCS TAG: fresh server, one load client window. Sets JSON
# (the client's result) and WHY (the failure), returns non-zero on failure.
measure_once() {
	local server=$1 variant=$2 conns=$3 procs=$4 tag=$5 port secs rc
	JSON="" WHY=""
	port=$(pick_port)
	secs=$(jq -n "$WARMUP + $DURATION + 30 | ceil")
	rm -f "$TMP/rec.jsonl"
	if ! server_start "$server" "$procs" "$port" "$secs" "$variant" "$TMP/rec.jsonl"; then
		WHY="server $SRV_ERR"
		return 1
	fi
	# shellcheck disable=SC2086 # CLIENT_ARGS is a list of options
	JSON=$(taskset -c "$(client_cpu "$procs")" "$BIN/loadclient" --connect "127.0.0.1:$port" \
		--conns "$conns" --warmup "$WARMUP" --duration "$DURATION" --server-pid "$SRV_PID" \
		$CLIENT_ARGS 2>"$TMP/client.err")
	rc=$?
	alive "$SRV_PID" || WHY="server died during the run; "
	server_stop
	if [ $rc -ne 0 ] || [ -n "$WHY" ] || [ -z "$JSON" ]; then
		WHY="$WHY$(head -n 2 "$TMP/client.err" | tr '\n' ' ')"
		return 1
	fi
}

# measure SECTION SERVER VARIANT CONNS PROCS ROUND: one record in runs.jsonl and a progress line.
# A run during which other processes used more than MAX_OTHER CPUs (a build, a test suite on
# this shared machine) is repeated, up to RETRIES times; the record says how often.
measure() {
	local section=$1 server=$2 variant=$3 conns=$4 procs=$5 round=$6 tag try other lost
	tag="$section-$server${variant:+-$variant}-c$conns-p$procs-r$round"
	for ((try = 0; try <= RETRIES; try++)); do
		if ! measure_once "$server" "$variant" "$conns" "$procs" "$tag"; then
			echo "  FAIL    $tag: $WHY" >&2
			keep_log "$tag"
			[ -n "$JSON" ] || JSON='{}'
			record "$JSON" section="$section" server="$server" variant="$variant" \
				conns="$conns" procs="$procs" round="$round" failed="$WHY"
			return 1
		fi
		other=$(jq '.other_cpu // 0' <<<"$JSON")
		[ "$(jq -n "$other <= $MAX_OTHER")" = true ] && break
		[ $try -lt "$RETRIES" ] && echo "  again   $tag: other processes used $other CPUs during the window" >&2
	done
	# The sim's exit summary says how many events its rings and the probes' ring lost.
	lost=$(sed -n 's/.*lost events: \([0-9]*\) sim, \([0-9]*\) kernel.*/lost_sim=\1 lost_kernel=\2/p' "$SRV_LOG" | head -n 1)
	# shellcheck disable=SC2086 # lost is "lost_sim=N lost_kernel=M" or empty
	record "$JSON" section="$section" server="$server" variant="$variant" conns="$conns" \
		procs="$procs" round="$round" server_cpus="$(server_cpus "$procs")" \
		client_cpu_id="$(client_cpu "$procs")" retries="$((try > RETRIES ? RETRIES : try))" $lost
	jq -r --arg tag "$tag" '"  ok      \($tag): \(.rt_per_s | round) rt/s  (client \(.client_cpu * 100 | round)%, server \(.server_cpu // 0 | . * 100 | round)%, others \(.other_cpu // 0 | . * 100 | round)% of a CPU)"' <<<"$JSON" >&2
}

# rotate N ITEMS...: the items, starting at index N mod count (a different order each round).
rotate() {
	local n=$1
	shift
	local a=("$@") i
	for ((i = 0; i < ${#a[@]}; i++)); do
		echo "${a[$(((i + n) % ${#a[@]}))]}"
	done
}

want() { [[ ",$SECTIONS," == *",$1,"* ]]; }
has_server() { [[ " $SERVERS " == *" $1 "* ]]; }

# --- section: echo throughput ------------------------------------------------------------------
section_echo() {
	local jobs=() r c job
	echo "== echo: round trips/s, $ROUNDS rounds × ${DURATION}s windows" >&2
	if has_server sim && [ -n "$SIM_WHY" ]; then
		skip echo sim plain "$SIM_WHY"
	fi
	has_server epoll && jobs+=("epoll plain 1")
	for p in $PROCS; do
		has_server sim && [ -z "$SIM_WHY" ] && jobs+=("sim plain $p")
		has_server go && jobs+=("go plain $p")
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for c in $CONNS; do
			while read -r job; do
				# shellcheck disable=SC2086 # job is "server variant procs"
				set -- $job
				measure echo "$1" "$2" "$c" "$3" "$r"
			done < <(rotate "$r" "${jobs[@]}")
		done
	done
}

# --- section: costs of the event log, recording, probes ----------------------------------------
section_costs() {
	local variants=() v why r p rec
	echo "== costs: event log, recording, probes at c=$COST_CONNS" >&2
	declare -A need=([plain]=--no-bpf [noevents]=--no-events [record]=--record [probes]=--no-bpf
		[probes-break]=--bpf-break)
	for v in noevents plain record probes probes-break; do
		why=$(sim_missing "${need[$v]}")
		if [ -n "$why" ]; then
			skip costs sim "$v" "$why"
		else
			variants+=("$v")
		fi
	done
	[ ${#variants[@]} -eq 0 ] && return
	for ((r = 1; r <= ROUNDS; r++)); do
		for p in $COST_PROCS; do
			for v in $(rotate "$r" "${variants[@]}"); do
				measure costs sim "$v" "$COST_CONNS" "$p" "$r"
			done
		done
	done
	# Lost events with the probes on (default ring sizes) come from the probes runs' exit
	# summaries, recorded by measure as lost_sim / lost_kernel.
}

# --- section: idle connections' memory ---------------------------------------------------------
# measure_idle SERVER ROUND: the server's VmRSS/VmHWM while the client holds IDLE_CONNS silent
# connections that the server has all accepted (its open fds prove it).
measure_idle() {
	local server=$1 round=$2 port base rss hwm fds ready tag="idle-$1-r$2"
	port=$(pick_port)
	if ! server_start "$server" "$IDLE_PROCS" "$port" 300 plain ""; then
		echo "  FAIL    $tag: server $SRV_ERR" >&2
		keep_log "$tag"
		record '{}' section=idle server="$server" procs="$IDLE_PROCS" round="$round" failed="server $SRV_ERR"
		return 1
	fi
	base=$(awk '/^VmRSS/ { print $2 }' "/proc/$SRV_PID/status")
	taskset -c "$(client_cpu "$IDLE_PROCS")" "$BIN/loadclient" --connect "127.0.0.1:$port" \
		--conns "$IDLE_CONNS" --idle >"$TMP/idle.out" 2>"$TMP/idle.err" &
	CLI_PID=$!
	ready=""
	for _ in $(seq 600); do # up to 60 s for the connects, then for the accepts
		if [ -z "$ready" ]; then
			grep -q '"holding"' "$TMP/idle.out" && ready=1
			alive "$CLI_PID" || break
		else
			fds=$(find "/proc/$SRV_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
			[ "$fds" -ge "$IDLE_CONNS" ] && break
		fi
		sleep 0.1
	done
	sleep 1 # let lazily allocated per-connection state settle
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$SRV_PID/status" 2>/dev/null)
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$SRV_PID/status" 2>/dev/null)
	fds=$(find "/proc/$SRV_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	kill -TERM "$CLI_PID" 2>/dev/null
	wait "$CLI_PID"
	local crc=$?
	CLI_PID=""
	server_stop
	local closed
	closed=$(jq -s 'map(select(.state == "stopped"))[0].closed_by_server // null' "$TMP/idle.out" 2>/dev/null)
	if [ -z "$ready" ] || [ "$fds" -lt "$IDLE_CONNS" ] || [ "$crc" -ne 0 ] || [ -z "$rss" ]; then
		local why="client rc=$crc, $fds server fds for $IDLE_CONNS connections: $(head -n 2 "$TMP/idle.err" | tr '\n' ' ')"
		echo "  FAIL    $tag: $why" >&2
		keep_log "$tag"
		record '{}' section=idle server="$server" procs="$IDLE_PROCS" round="$round" failed="$why"
		return 1
	fi
	record '{}' section=idle server="$server" procs="$IDLE_PROCS" round="$round" conns="$IDLE_CONNS" \
		rss_kb="$rss" hwm_kb="$hwm" base_rss_kb="$base" server_fds="$fds" closed_by_server="$closed"
	echo "  ok      $tag: VmRSS $((rss / 1024)) MB, VmHWM $((hwm / 1024)) MB (before: $((base / 1024)) MB), $fds fds" >&2
}

section_idle() {
	local servers=() r s
	echo "== idle: memory with $IDLE_CONNS idle connections" >&2
	for s in sim go epoll; do
		has_server "$s" || continue
		if [ "$s" = sim ] && [ -n "$SIM_WHY" ]; then
			skip idle sim plain "$SIM_WHY"
			continue
		fi
		servers+=("$s")
	done
	for ((r = 1; r <= IDLE_ROUNDS; r++)); do
		for s in $(rotate "$r" "${servers[@]}"); do
			measure_idle "$s" "$r"
		done
	done
}

# --- section: check + replay of a big trace ----------------------------------------------------
# timed CMD...: run under /usr/bin/time -v; prints "wall_s max_rss_kb rc".
timed() {
	/usr/bin/time -v -o "$TMP/time.txt" "$@" >/dev/null 2>"$TMP/timed.err"
	local rc=$?
	awk -v rc=$rc -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
		/Maximum resident set size/ { m = $2 }
		END { printf "%.3f %d %d\n", s, m, rc }' "$TMP/time.txt"
}

section_trace() {
	local why big=$TMP/big.jsonl rounds per events r rc
	echo "== trace tools: check + headless replay of a $TRACE_EVENTS-event trace" >&2
	why=$(sim_missing --record --rounds)
	[ -z "$why" ] && ! "$NPS" check --help >/dev/null 2>&1 && why="'$NPS_NAME check --help' fails: the checker has not landed"
	[ -z "$why" ] && ! "$NPS" replay --help 2>&1 | grep -q -e --narrate && why="'$NPS_NAME replay --help' does not list --narrate yet"
	[ -z "$why" ] && [ ! -x /usr/bin/time ] && why="/usr/bin/time is missing (apt-get install time)"
	if [ -n "$why" ]; then
		skip trace sim check "$why"
		return
	fi
	# Events per round are the scenario's business (and vary with scheduling): measure them on
	# a small run, then scale until the trace holds 1.0-1.1 times the events wanted. A trace
	# cannot be cut to size: without its footer the checker rightly calls it incomplete.
	rounds=200
	for attempt in 1 2 3 4; do
		rm -f "$big"
		"$NPS" run --scenario echo --clients 50 --rounds "$rounds" --record "$big" --no-ui --no-bpf \
			>"$TMP/gen.log" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			cp "$TMP/gen.log" "$OUT/logs/trace-gen.log"
			skip trace sim gen "generating the trace failed (exit $rc, log: $OUT/logs/trace-gen.log)"
			return
		fi
		events=$(grep -c '"ev":' "$big") # not the header and footer lines
		[ "$events" -gt 0 ] || { skip trace sim gen "--record wrote a trace without events"; return; }
		[ "$(jq -n "$events >= $TRACE_EVENTS and $events <= 1.1 * $TRACE_EVENTS")" = true ] && break
		rounds=$(jq -n "($TRACE_EVENTS * 1.04 / ($events / $rounds)) | ceil")
	done
	echo "  trace: $events events, $(($(stat -c %s "$big") / 1048576)) MB ($rounds rounds of 50 clients)" >&2
	for ((r = 1; r <= TRACE_ROUNDS; r++)); do
		local cs cm crc ps pm prc bs bm brc
		read -r cs cm crc < <(timed "$NPS" check "$big")
		read -r ps pm prc < <(timed "$NPS" replay "$big" --no-ui --narrate)
		read -r bs bm brc < <(timed jq -c 'empty' "$big")
		record '{}' section=trace server=sim round="$r" events="$events" \
			check_s="$cs" check_rss_kb="$cm" check_rc="$crc" \
			replay_s="$ps" replay_rss_kb="$pm" replay_rc="$prc" jq_s="$bs" jq_rss_kb="$bm"
		echo "  ok      trace-r$r: check ${cs}s $((cm / 1024)) MB (rc $crc), replay ${ps}s $((pm / 1024)) MB (rc $prc); jq parse ${bs}s" >&2
		# The writer alone on the same events: formatting, and the kernel's part of writing
		# 512 MB to a new file through the page cache and with direct writes (tracewrite.c).
		local tw
		if [ -x "$BIN/tracewrite" ] && tw=$("$BIN/tracewrite" "$big" --repeat 5 --dir "$TMP" --mb 512); then
			record "$tw" section=writer server=sim round="$r"
			echo "  ok      writer-r$r: $tw" >&2
		else
			skip trace sim writer "$BIN/tracewrite failed or is missing (make $BIN/tracewrite)"
		fi
	done
}

# --- run ---------------------------------------------------------------------------------------
START=$(date +%s)
jq -n --arg date "$(date -Iseconds)" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" --arg ncpu "$NCPU" \
	--arg go "$(/usr/lib/go-1.22/bin/go version "$BIN/go_echo" 2>/dev/null | awk '{ print $NF }')" \
	--arg rev "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')" \
	--arg cmd "$CMDLINE" --arg rounds "$ROUNDS" --arg warmup "$WARMUP" --arg duration "$DURATION" \
	--arg conns "$CONNS" --arg procs "$PROCS" --arg cost_conns "$COST_CONNS" --arg cost_procs "$COST_PROCS" \
	--arg client_args "$CLIENT_ARGS" --arg load1 "$LOAD1" --arg max_other "$MAX_OTHER" \
	--arg retries "$RETRIES" --arg idle_conns "$IDLE_CONNS" --arg trace_events "$TRACE_EVENTS" \
	--arg pin1 "server on CPU $(server_cpus 1), client on CPU $(client_cpu 1)" \
	--arg pin2 "server on CPUs $(server_cpus 2), client on CPU $(client_cpu 2)" \
	'$ARGS.named | {section: "meta"} + .' >"$OUT/meta.json"
echo "bench: results in $OUT" >&2

want echo && section_echo
want costs && section_costs
want idle && section_idle
want trace && section_trace

jq -r -s -f bench/report.jq --argjson secs $(($(date +%s) - START)) "$OUT/meta.json" "$RUNS" >"$OUT/report.md" || die "the report failed (raw results: $RUNS)"
ln -sfn "$(basename "$OUT")" bench/results/latest 2>/dev/null
cat "$OUT/report.md"
