package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture).
const userHZ = 100

// procStat is the part of /proc/PID/stat the harness uses.
type procStat struct {
	pid, ppid int
	comm      string
	// CPU times in USER_HZ ticks: the process's own, and those of its
	// children that it has waited for.
	utime, stime, cutime, cstime uint64
}

// self is the CPU time the process itself used.
func (s procStat) self() time.Duration { return ticks(s.utime + s.stime) }

// total adds the CPU time of the descendants it has reaped.
func (s procStat) total() time.Duration {
	return ticks(s.utime + s.stime + s.cutime + s.cstime)
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / userHZ }

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

// parseStat parses a /proc/PID/stat line. The command name is in
// parentheses and may itself contain spaces and parentheses.
func parseStat(pid int, b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 > len(b) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[end+2:]))
	// f[0] is field 3 (state) of proc(5): field N is f[N-3].
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	num := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
	return procStat{
		pid:    pid,
		ppid:   int(num(1)),
		comm:   string(b[open+1 : end]),
		utime:  num(11),
		stime:  num(12),
		cutime: num(13),
		cstime: num(14),
	}, nil
}

// allProcs reads every process's stat; processes that exit meanwhile are
// skipped.
func allProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// descendants returns the processes whose parent chain reaches root.
func descendants(root int) []procStat {
	procs := allProcs()
	kids := map[int][]procStat{}
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var out []procStat
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, k := range kids[pid] {
			out = append(out, k)
			queue = append(queue, k.pid)
		}
	}
	return out
}

// hasChildren reports whether any process (zombies included) has pid as
// its parent.
func hasChildren(pid int) bool {
	for _, p := range allProcs() {
		if p.ppid == pid {
			return true
		}
	}
	return false
}

// statusBytes returns a "kB" field of /proc/PID/status (VmRSS) in bytes.
func statusBytes(pid int, field string) (int64, error) {
	return kBField(fmt.Sprintf("/proc/%d/status", pid), field)
}

// pssBytes returns the proportional set size of a process: its private
// pages plus its share of pages shared with other processes.
func pssBytes(pid int) (int64, error) {
	return kBField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
}

func kBField(path, field string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", path, field, err)
		}
		return v << 10, nil
	}
	return 0, fmt.Errorf("%s: no %s", path, field)
}
