<?php
// The worker of the php-gzip-50k scenario: a ~50 KiB JSON document encoded on every request
// (the site's `encode gzip` compresses it); servers/fastify-gzip-app.ts builds the same one.
use FrankenPHP\HttpServer;
use FrankenPHP\Request;
use FrankenPHP\Response;

$items = [];
for ($i = 0; $i < 600; $i++) {
    $items[] = ['id' => $i, 'name' => "user-$i", 'email' => "user-$i@example.com", 'active' => $i % 2 === 0, 'score' => ($i * 7) % 100];
}

HttpServer::onRequest(function (Request $req, Response $res) use ($items): void {
    $res->setHeader('Content-Type', 'application/json');
    $res->write(json_encode(['items' => $items]));
    $res->end();
});
