# The chart of bench/suite.sh, drawn by bench/suite_report.py:
#   gnuplot -e "ratios='R.dat'; nr=N; memory='M.dat'; nm=N; out='X.png'; maintitle='...'" bench/suite_plot.gp
# R.dat: "label" pgiris/pgbouncer pgiris/direct   (throughput; - where there is none)
# M.dat: "label" pgiris/pgbouncer                 (memory)
# nr, nm: the number of lines of each
set terminal pngcairo size 1400,1000 font "sans,10"
set output out
set datafile missing "-"
set style fill solid 0.85 border -1
set grid ytics
set key top left
set lmargin 16
set rmargin 4
set multiplot layout 2,1 title maintitle font "sans,12"

set size 1, 0.68
set origin 0, 0.30
set title "throughput ratios (higher is better for pgiris; log scale, 1 = parity)"
set logscale y
set yrange [0.01:30]
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)
set xtics rotate by 20 right
set xrange [-0.6:nr - 0.4]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 dt 2 lc rgb "black" front
plot ratios using ($0 - 0.19):2:(0.36):xtic(1) with boxes lc rgb "#3b75af" title "pgiris / pgbouncer", \
     ''     using ($0 + 0.19):3:(0.36) with boxes lc rgb "#ef8636" title "pgiris / direct (SQLite: / in-process)", \
     ''     using ($0 - 0.19):2:(sprintf("%.2f", $2)) with labels offset 0,0.7 font "sans,8" notitle, \
     ''     using ($0 + 0.19):3:(sprintf("%.2f", $3)) with labels offset 0,0.7 font "sans,8" notitle

unset arrow 1
set size 1, 0.28
set origin 0, 0.0
set title "memory: pgiris / pgbouncer (lower is better; RSS, pgiris = all its processes)"
unset logscale y
set autoscale y
set yrange [0:*]
set offsets 0, 0, graph 0.2, 0
unset key
set ytics autofreq
set xtics norotate
set xrange [-0.6:nm - 0.4]
set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 dt 2 lc rgb "black" front
plot memory using ($0):2:(0.4):xtic(1) with boxes lc rgb "#5a9e4b" title "pgiris / pgbouncer", \
     ''     using ($0):2:(sprintf("%.2f", $2)) with labels offset 0,0.7 font "sans,8" notitle
unset multiplot
