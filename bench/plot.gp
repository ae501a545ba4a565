# bench/plot.gp - the two plots of docs/BENCHMARKS.md, from the files
# bench/report.py writes (cdf_*.dat, windows.dat, and series.gp, which
# holds the plot commands for the series that have data).
# Run: gnuplot -e "dir='build/bench'" bench/plot.gp
if (!exists("dir")) dir = "build/bench"
load dir."/series.gp"
set terminal pngcairo size 900,560 font "sans,11" noenhanced
set grid

set output dir."/latency.png"
set title "Sequential calls, tcp, 16 B: latency distribution (CDF)"
set xlabel "round-trip latency (us, log scale)"
set ylabel "fraction of calls at or below"
set logscale x
set yrange [0:1]
set key bottom right
if (strlen(latplot) > 0) { eval latplot }

set output dir."/window.png"
set title "Pipelined calls, 16 B: calls/s against window (outstanding calls)"
set xlabel "window (log scale)"
set ylabel "calls/s"
set logscale x 2
set yrange [0:*]
set key top left
set xrange [0.7:6000]
set xtics ("1" 1, "16" 16, "256" 256, "4096" 4096)
if (strlen(winplot) > 0) { eval winplot }
