# tests/pipeline.sh — the whole pipeline for end-to-end tests: source it
# after lib.sh, pg.sh and serve.sh, start a cluster with pg_start, then
#
#   pipeline_start [SERVE-OPTION...]
#       init the registry and data dir, create the slot, start
#       shapesync-replicate | shapesync-route | shapesync-store in the
#       background (stderr to $TEST_DIR/pipeline.log) and shapesync-serve
#       (serve_start). Everything is stopped when the script exits.
#   pipeline_stop
#       stop serve, then the pipeline.
#   stage_pid STAGE
#       the pid of the pipeline's shapesync-STAGE.
#   stages_start [REPLICATE-OPTION...] / stages_stop
#       start or stop replicate | route | store alone (serve keeps
#       running), e.g. to break the replication stream in between.
#   $ROUTE_ARGS: more options for shapesync-route (word-split).
#   $PIPELINE_TEE: set, route's input and output frames are kept in
#   route.in and route.out of the test dir (debugging).

pipeline_start() {
	shapesync-db --registry "$SS_REGISTRY" --dir "$SS_DATA" init >/dev/null &&
	shapesync-replicate --registry "$SS_REGISTRY" --create-slot \
		2>>"$TEST_DIR/pipeline.log" || return 1
	stages_start
	serve_start "$@"
}

stages_start() {
	if [ -n "${PIPELINE_TEE:-}" ]; then
		# debugging: keep route's input and output frames
		( shapesync-replicate --registry "$SS_REGISTRY" "$@" |
		  tee -a "$TEST_DIR/route.in" |
		  shapesync-route --registry "$SS_REGISTRY" --dir "$SS_DATA" \
			${ROUTE_ARGS:-} |
		  tee -a "$TEST_DIR/route.out" |
		  shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" \
			--sync-interval 2ms ) 2>>"$TEST_DIR/pipeline.log" &
		PIPELINE_PID=$!
		return
	fi
	( shapesync-replicate --registry "$SS_REGISTRY" "$@" |
	  shapesync-route --registry "$SS_REGISTRY" --dir "$SS_DATA" \
		${ROUTE_ARGS:-} |
	  shapesync-store --registry "$SS_REGISTRY" --dir "$SS_DATA" \
		--sync-interval 2ms ) 2>>"$TEST_DIR/pipeline.log" &
	PIPELINE_PID=$!
}

# The pipeline's processes are the subshell's children: stop them by name
# within this test's own process tree only.
_pipeline_kids() {
	for _stat in /proc/[0-9]*/stat; do
		sed -n 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' \
			"$_stat" 2>/dev/null
	done | awk -v p="$1" '$2 == p { print $1 }'
}

# stage_pid STAGE: the pid of the pipeline's shapesync-STAGE (replicate,
# route or store), e.g. to stop it with SIGSTOP
stage_pid() {
	for _k in $(_pipeline_kids "$PIPELINE_PID"); do
		case "$(tr '\0' ' ' <"/proc/$_k/cmdline" 2>/dev/null)" in
		"shapesync-$1 "*) echo "$_k" ;;
		esac
	done
}

pipeline_stop() {
	serve_stop
	stages_stop
}

stages_stop() {
	[ -n "${PIPELINE_PID:-}" ] || return 0
	for _k in $(_pipeline_kids "$PIPELINE_PID"); do
		kill -TERM "$_k" 2>/dev/null
	done
	wait_end "$PIPELINE_PID" ||
		test_expect_success "the pipeline ends on SIGTERM (it hung)" false
	PIPELINE_PID=
}
test_at_exit 'pipeline_stop'
