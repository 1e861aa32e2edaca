# The shape every scripts/*-env.sh shares, sourced by each: status lines on stderr, the tool's path
# as the last stdout line, a stamp that records what was installed (written last, atomically), and
# a lock so that concurrent runs install once.
#
# The sourcing script sets, before calling these:
#   ENV_NAME  prefix of its status lines ("kubo-env")
#   TOOL      the path printed when ready (or TOOLS, an array: several paths, printed in order)
#   STAMP     the stamp file; WANT, what it must say for TOOL to be current
#   LOG       the install log quoted on failure

say() { echo "$ENV_NAME: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The tools' paths, one a line: TOOLS when the script set it, else TOOL.
env_tools() {
  if [[ -n "${TOOLS+set}" ]]; then printf '%s\n' "${TOOLS[@]}"; else echo "$TOOL"; fi
}

env_is_current() {
  local tool
  while IFS= read -r tool; do [[ -x "$tool" ]] || return 1; done < <(env_tools)
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]
}

# Says `ok, <what> ready (<how>)`, prints the tools' paths and ends the script.
env_ready() {
  say "ok, $1 ready ($2)"
  env_tools
  exit 0
}

# Ends the script as ready when the stamp is current; otherwise takes the lock `$1` (when flock is
# there: without it we just go on) and checks again, since another run may have finished meanwhile.
# `$2` names the tool, `$3` says how a concurrent run left it.
env_ready_or_lock() {
  env_is_current && env_ready "$2" cached
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$1"
    flock 9
    env_is_current && env_ready "$2" "$3"
  fi
  return 0
}

# Empties the log and, on any failing command from here on, quotes its last lines (`$1`: what failed).
env_log_failures() {
  : >"$LOG"
  ENV_FAILED="$1"
  trap env_quote_log ERR
}
env_quote_log() {
  say "$ENV_FAILED failed; last lines of $LOG:"
  tail -n 40 "$LOG" >&2 || true
}

# Records WANT in the stamp: only a complete, verified install gets one.
env_stamp() {
  trap - ERR
  echo "$WANT" >"$STAMP.tmp"
  mv "$STAMP.tmp" "$STAMP"
}
