<?php
// The phpasync worker of the php-db scenarios: /db connects per request (as db-fpm.php does),
// /db-pool takes an idle connection from the worker's own pool and puts it back after.
use FrankenPHP\HttpServer;
use FrankenPHP\Request;
use FrankenPHP\Response;

require __DIR__ . '/db-common.php';

// Idle connections. One PHP thread runs one coroutine at a time and array_pop() does not
// suspend, so two requests never get the same connection. A request that fails drops its
// connection (it may be mid-result) rather than returning it.
$idle = [];

HttpServer::onRequest(function (Request $req, Response $res) use (&$idle): void {
    try {
        switch ($req->getUri()) {
            case '/db':
                $res->write(bench_db_work(bench_db_connect()));
                break;
            case '/db-pool':
                $db = array_pop($idle) ?? bench_db_connect();
                $out = bench_db_work($db);
                $idle[] = $db;
                $res->write($out);
                break;
            default:
                $res->setStatus(404);
                $res->write('not found');
        }
    } catch (Throwable $e) {
        $res->setStatus(500);
        $res->write(get_class($e) . ': ' . $e->getMessage());
    }
    $res->end();
});
