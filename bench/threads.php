<?php
// Worker of bench/threads.ts: /hello, and /cpu?n=N, a fixed amount of PHP work that never
// yields (N loop iterations; the bench calibrates N to about 1 ms of CPU). Fixed work, not a
// wall-clock spin: a spin for 1 ms of wall time would "finish" while the thread is preempted.
use FrankenPHP\HttpServer;

HttpServer::onRequest(function ($req, $res) {
    $q = $req->getQueryParams();
    if (isset($q['n'])) {
        $x = 0;
        $n = (int) $q['n'];
        for ($i = 0; $i < $n; $i++) {
            $x = ($x + $i * 7) % 1000003;
        }
        $res->write((string) $x);
    } else {
        $res->write('hello world');
    }
    $res->end();
});
