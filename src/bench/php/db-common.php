<?php
// The php-db bench's one unit of work, shared by the phpasync worker (db-worker.php) and the
// nginx + php-fpm script (db-fpm.php) so both run the same queries: one indexed SELECT of a
// random row and one 5 ms SLEEP. Answers "ok" when the row is the one asked for.

function bench_db_connect(bool $persistent = false): PDO
{
    $dsn = 'mysql:unix_socket=' . getenv('PHPASYNC_DB_SOCKET') . ';dbname=' . getenv('PHPASYNC_DB_NAME');
    return new PDO($dsn, getenv('PHPASYNC_DB_USER'), getenv('PHPASYNC_DB_PASS'), [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => false,
        PDO::ATTR_PERSISTENT => $persistent,
    ]);
}

/** Rows in bench_items (see BENCH_DB_SCHEMA in src/bench/scenarios-db.ts). */
const BENCH_DB_ROWS = 10000;

function bench_db_work(PDO $db): string
{
    $id = random_int(1, BENCH_DB_ROWS);
    $st = $db->prepare('SELECT name FROM bench_items WHERE id = ?');
    $st->execute([$id]);
    $name = $st->fetchColumn();
    $db->query('SELECT SLEEP(0.005)')->fetchColumn();
    return $name === "item-$id" ? 'ok' : "wrong row for $id: " . var_export($name, true);
}
