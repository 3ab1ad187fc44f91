SELECT bench_assign('pt');
