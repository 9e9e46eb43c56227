#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm integration test and for trying
# `hesstrain sweep --slurm --submit` locally. Needs root and Debian's slurmctld, slurmd,
# slurm-client and munge (Slurm 22.05): `apt-get install -y slurmctld slurmd slurm-client munge`.
#
#   scripts/slurm-local.sh start DIR    writes DIR/slurm.conf, starts munged, slurmctld and slurmd,
#                                       waits until the node is idle, prints `export SLURM_CONF=...`
#   scripts/slurm-local.sh stop DIR     stops the three daemons by the PIDs recorded in DIR
#
# State, spool, logs and PID files all live under DIR; nothing under /etc is changed.
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2; exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

stop_pid() { # name pidfile
  local f="$2"
  [[ -f "$f" ]] || return 0
  local pid; pid="$(cat "$f")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "stopped $1 (pid $pid)" >&2
  fi
  rm -f "$f"
}

case "$cmd" in
stop)
  stop_pid slurmd "$dir/slurmd.pid"
  stop_pid slurmctld "$dir/slurmctld.pid"
  stop_pid munged "$dir/munged.pid"
  exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null || { echo "$b is not installed (apt-get install -y slurmctld slurmd slurm-client munge)" >&2; exit 1; }
done
[[ "$(id -u)" == 0 ]] || { echo "the local cluster runs as root (SlurmUser=root)" >&2; exit 1; }

host="$(hostname -s)"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
key="$dir/munge/munge.key"
[[ -f "$key" ]] || { dd if=/dev/urandom of="$key" bs=1 count=1024 status=none; chmod 400 "$key"; }
sock="$dir/munge/munge.socket"

cat > "$dir/slurm.conf" <<CONF
ClusterName=hesstrain-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=30
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

munged --key-file="$key" --socket="$sock" --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
  --seed-file="$dir/munge/munge.seed" --force
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "the local Slurm node did not become idle within 20 s; logs in $dir" >&2
sinfo >&2 || true
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
