<?php
// The nginx + php-fpm script of the php-db scenarios: the same work as db-worker.php, one
// script run per request; ?persistent=1 keeps one connection per php-fpm child.
require __DIR__ . '/db-common.php';

try {
    echo bench_db_work(bench_db_connect(($_GET['persistent'] ?? '') === '1'));
} catch (Throwable $e) {
    http_response_code(500);
    echo get_class($e), ': ', $e->getMessage();
}
