<?php

/**
 * The PHP API of phpasync's async workers: the source of truth for the classes that
 * php/frankenphp_arginfo.h declares (test/stubs.test.ts keeps the two in lockstep).
 *
 * @generate-class-entries
 */

namespace FrankenPHP;

/** Entry point of an async worker file. */
final class HttpServer
{
    /**
     * Registers the callable that serves every request of this worker thread, one coroutine
     * per request: fn(Request $request, Response $response): void. Call it once from the
     * worker file; the thread starts serving after the file returns. Returns true.
     * Throws an Error outside a phpasync async worker thread.
     */
    public static function onRequest(callable $handler): bool {}
}

/** The request being served. Created by phpasync, never by user code. */
final class Request
{
    /** The method as sent, e.g. "GET". */
    public function getMethod(): string {}

    /** Path and query exactly as the client sent them (before any Caddyfile rewrite). */
    public function getUri(): string {}

    /** One header, looked up case-insensitively; repeated headers joined with ", "; null when absent. */
    public function getHeader(string $name): ?string {}

    /**
     * All headers, name => value. Names keep the case of their first occurrence as sent;
     * repeated headers are joined with ", ".
     */
    public function getHeaders(): array {}

    /** The raw body (binary-safe); the same string on every call. */
    public function getBody(): string {}
}

/**
 * The response of the request being served. write() buffers; end() sends status, headers
 * and body. After end(), every method that changes the response throws an Error saying the
 * response has already ended.
 */
final class Response
{
    /** Throws ValueError outside 100..599. */
    public function setStatus(int $status): void {}

    /** Status to send; 200 until setStatus() is called. */
    public function getStatus(): int {}

    /**
     * Replaces every value of the header. Throws ValueError when the name is not an HTTP
     * token or the value contains CR, LF or NUL.
     */
    public function setHeader(string $name, string $value): void {}

    /** Appends the bytes to the body. Strings longer than the copy threshold are not copied. */
    public function write(string $data): void {}

    /** Sends status, headers and the buffered body; the response is complete. */
    public function end(): void {}
}
