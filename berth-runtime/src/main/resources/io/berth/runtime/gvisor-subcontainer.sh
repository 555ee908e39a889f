#!/bin/sh
# Written by berthd (berth-runtime GvisorSandboxes); do not edit.
#
# conmon's OCI runtime for a container that joins a gVisor (runsc) pod sandbox. conmon takes the process named in
# --pid-file as the container: it must be conmon's child (conmon is a subreaper), hold the container's stdio and
# exit with its exit code. A runsc sub-container has no such process on the host: its init runs inside the
# sandbox, `runsc start` donates its own stdin/stdout/stderr to it, and its exit is read with `runsc wait`.
# So "create" runs `runsc create` and leaves a proxy behind, reparented to conmon, holding conmon's pipes. The
# proxy waits for berthd to write "start" into the FIFO "start" next to the pid file, runs `runsc start` (the
# container gets conmon's pipes), writes start's exit status to "start.status", then waits for the container and
# exits with its exit code (255 when runsc cannot tell it). Anything but "start" (or end of file) makes the
# proxy exit 0 without starting: the container is being removed.
#
# Called by conmon as:  gvisor-subcontainer RUNSC [GLOBAL-FLAG...] create --bundle B --pid-file P
#                                           [--console-socket S] [--no-pivot] [--no-new-keyring] ID
set -u
runsc=$1
shift
# Keep the global flags in "$@" (moved to the end one by one) and read create's own options.
n=$#
create=0
bundle=
pidfile=
console=
id=
while [ "$n" -gt 0 ]; do
  a=$1
  shift
  n=$((n - 1))
  if [ "$create" = 0 ]; then
    if [ "$a" = create ]; then
      create=1
    else
      set -- "$@" "$a"
    fi
    continue
  fi
  case $a in
    --bundle | --pid-file | --console-socket)
      v=$1
      shift
      n=$((n - 1))
      case $a in
        --bundle) bundle=$v ;;
        --pid-file) pidfile=$v ;;
        *) console=$v ;;
      esac
      ;;
    -*) ;;
    *) id=$a ;;
  esac
done
if [ "$create" = 0 ]; then
  exec "$runsc" "$@"
fi
if [ -z "$bundle" ] || [ -z "$pidfile" ] || [ -z "$id" ]; then
  echo "gvisor-subcontainer: create needs --bundle, --pid-file and an id" >&2
  exit 2
fi
dir=${pidfile%/*}
if [ -n "$console" ]; then
  "$runsc" "$@" create --bundle "$bundle" --console-socket "$console" "$id" || exit
else
  "$runsc" "$@" create --bundle "$bundle" "$id" || exit
fi
# A background list's stdin is /dev/null unless job control is on: pass the real one on fd 9.
exec 9<&0
(
  exec 0<&9 9<&-
  go=
  IFS= read -r go <"$dir/start" || go=
  if [ "$go" != start ]; then
    exit 0
  fi
  "$runsc" "$@" --log="$dir/runsc-start.log" start "$id"
  rc=$?
  echo "$rc" >"$dir/start.status"
  if [ "$rc" != 0 ]; then
    exit 128
  fi
  out=$("$runsc" "$@" wait "$id" </dev/null 2>>"$dir/runsc-wait.log")
  code=${out##*\"exitStatus\":}
  code=${code%%[!0-9]*}
  exit "${code:-255}"
) &
echo $! >"$pidfile"
