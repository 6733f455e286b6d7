# Prints the performance table from `make perf`'s benchmark output: the
# best of each benchmark's runs (the least disturbed by the machine).
/^BenchmarkEventLoopFloor/ {
	v = $3 + 0
	if (floor == 0 || v < floor) floor = v
}
/^BenchmarkSimLarge/ {
	for (i = 1; i <= NF; i++) if ($(i) == "ns/event") { v = $(i-1) + 0 }
	if (sim == 0 || v < sim) sim = v
}
/^BenchmarkEndToEnd\// {
	name = $1; sub(/^BenchmarkEndToEnd\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 1; i <= NF; i++) {
		if ($(i) == "s/run") secs[name] = $(i-1)
		if ($(i) == "peak-MB") peak[name] = $(i-1)
	}
	order[++n] = name
}
END {
	printf "%-36s %12s %12s\n", "workload", "time", "peak RSS"
	printf "%-36s %9.0f ns/event (bare loop %.0f ns, %.2fx)\n", "simulator, large fleet, one core", sim, floor, (floor > 0 ? sim / floor : 0)
	for (i = 1; i <= n; i++) {
		printf "%-36s %10.2f s %9.0f MB\n", order[i], secs[order[i]], peak[order[i]]
	}
}
