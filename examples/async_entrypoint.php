<?php
// The async worker of Caddyfile.async: this file runs once per PHP thread, registers the
// request handler, and returns; every request then runs the handler in a coroutine of its own.
use FrankenPHP\HttpServer;
use FrankenPHP\Request;
use FrankenPHP\Response;

set_time_limit(0);

HttpServer::onRequest(function (Request $request, Response $response): void {
    $uri = $request->getUri();
    $response->setHeader('Content-Type', 'application/json');

    if ($uri === '/') {
        $response->setStatus(200);
        $response->write(json_encode([
            'message' => 'Hello from TrueAsync!',
            'timestamp' => date('Y-m-d H:i:s'),
        ]));
    } else {
        $response->setStatus(404);
        $response->write(json_encode(['error' => 'Not Found', 'uri' => $uri]));
    }
    $response->end();
});
