set terminal pngcairo size 1400,760 font ',10'
set output 'docs/bench/20261207-2-plot.png'
set multiplot layout 2,2
set logscale xy
set xtics (1, 50, 500)
set xrange [0.7:700]
set grid
set xlabel 'concurrent sessions'
set ylabel 'messages (handshakes) / s'
set key top left font ',9'
set title 'plain, 2 KB, a connection per message'
plot 'docs/bench/20261207-2-plot.dat' index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'mailscoped', 'docs/bench/20261207-2-plot.dat' index 1 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'postfix', 'docs/bench/20261207-2-plot.dat' index 2 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'sink'
set title 'plain, 2 KB, connections reused'
plot 'docs/bench/20261207-2-plot.dat' index 3 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'mailscoped', 'docs/bench/20261207-2-plot.dat' index 4 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'postfix', 'docs/bench/20261207-2-plot.dat' index 5 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'sink'
set title 'STARTTLS TLS 1.3, 2 KB, a handshake per message'
plot 'docs/bench/20261207-2-plot.dat' index 6 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'mailscoped', 'docs/bench/20261207-2-plot.dat' index 7 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'postfix', 'docs/bench/20261207-2-plot.dat' index 8 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 's\_server (msbench --handshake)'
set title 'STARTTLS TLS 1.3 resumed, 2 KB'
plot 'docs/bench/20261207-2-plot.dat' index 9 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'mailscoped', 'docs/bench/20261207-2-plot.dat' index 10 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'postfix', 'docs/bench/20261207-2-plot.dat' index 11 using 1:2:3:4 with yerrorlines lw 2 pt 7 title 's\_server (msbench --handshake)'
unset multiplot
