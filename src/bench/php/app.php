<?php
// The async worker every phpasync scenario of `phpasync bench` talks to; one route per scenario.
use FrankenPHP\HttpServer;
use FrankenPHP\Request;
use FrankenPHP\Response;

// Built once per worker: write() keeps a reference to it, so each request sends it without a copy.
$mib = str_repeat('x', 1 << 20);
$hasDelay = function_exists('Async\delay');

HttpServer::onRequest(function (Request $req, Response $res) use ($mib, $hasDelay): void {
    switch ($req->getUri()) {
        case '/hello':
            $res->write('hello world');
            break;
        case '/json':
            $res->setHeader('Content-Type', 'application/json');
            $res->write(json_encode([
                'id' => 42,
                'name' => 'phpasync',
                'tags' => ['php', 'node', 'coroutines'],
                'active' => true,
                'score' => 9.5,
            ]));
            break;
        case '/1mib':
            $res->setHeader('Content-Type', 'application/octet-stream');
            $res->write($mib);
            break;
        case '/upload':
            // Parse the one file part as an application would, and answer with its size.
            if (!preg_match('/boundary=([^;]+)/', $req->getHeader('Content-Type') ?? '', $m)) {
                $res->setStatus(400);
                $res->write('no multipart boundary');
                break;
            }
            $body = $req->getBody();
            $start = strpos($body, "\r\n\r\n");
            $end = $start === false ? false : strpos($body, "\r\n--" . trim($m[1], '"'), $start);
            if ($end === false) {
                $res->setStatus(400);
                $res->write('malformed multipart body');
                break;
            }
            $res->write((string)($end - $start - 4));
            break;
        case '/work':
            // About 1 ms of CPU that never yields: the thread is busy, so its ring fills up.
            $until = hrtime(true) + 1_000_000;
            while (hrtime(true) < $until);
            $res->write('hello world');
            break;
        case '/loop':
            // A CPU-bound PHP loop (the JIT's loop traces matter here: bench/jit-loop.ts).
            $x = 0;
            for ($i = 0; $i < 200_000; $i++) {
                $x = ($x + $i * 7) % 1_000_003;
            }
            $res->write((string) $x);
            break;
        case '/delay':
            if (!$hasDelay) {
                $res->setStatus(501);
                $res->write('Async\delay not available');
                break;
            }
            Async\delay(10);
            $res->write('hello world');
            break;
        default:
            $res->setStatus(404);
            $res->write('not found');
    }
    $res->end();
});
