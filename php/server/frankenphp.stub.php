<?php

/**
 * The PHP API of phpasync's async workers: the source of truth for the classes that
 * php/frankenphp_arginfo.h declares (test/stubs.test.ts keeps the two in lockstep).
 *
 * @generate-class-entries
 */

namespace FrankenPHP {

/** Entry point of an async worker file. */
final class HttpServer
{
    /**
     * Registers the callable that serves every request of this worker thread, one coroutine
     * per request: fn(Request $request, Response $response): void. Call it once from the
     * worker file; the thread starts serving after the file returns. Returns true.
     * Throws an Error outside a phpasync async worker thread.
     *
     * PHP's per-request state is the request's own inside its handler, never shared with the
     * other requests its thread runs meanwhile (saved and restored at every suspension):
     * - $_SERVER: the worker's $_SERVER (environment, SCRIPT_FILENAME) plus this request's CGI
     *   variables: REQUEST_METHOD, REQUEST_URI, QUERY_STRING, SERVER_PROTOCOL, REMOTE_ADDR,
     *   REMOTE_PORT, REQUEST_SCHEME, HTTPS ("on" over TLS), SERVER_NAME and SERVER_PORT (from
     *   Host), REQUEST_TIME and REQUEST_TIME_FLOAT (when this request started), CONTENT_TYPE,
     *   CONTENT_LENGTH and HTTP_* for the other headers (names with "_" are left out, as Apache
     *   and nginx do; repeats are joined with ", ").
     * - $_GET and $_COOKIE: Request::getQueryParams() and getCookies(); $_REQUEST: $_GET.
     * - $_POST and $_FILES: always [] (the body is not parsed before the handler runs): use
     *   getParsedBody() and getUploadedFiles(). php://input reads this request's body.
     * - header(), header_remove(), setcookie(), http_response_code() act on this Response;
     *   a status they set (a status line, header()'s code, Location: 302, or 303 over HTTP/1.1 for
     *   methods other than GET and HEAD, WWW-Authenticate: 401) becomes its status, and a status outside 200..599 throws
     *   ValueError. They and setStatus()/setHeader() change the same status and headers: the last
     *   call wins. headers_list() lists this Response's headers. echo does not send headers and
     *   adds no default Content-Type: headers_sent() is false until flush() or end(), and header()
     *   after that fails with PHP's "headers already sent" warning.
     * - error_get_last(), ini_set() (memory_limit included), error_reporting() and
     *   set_time_limit() are this request's and end with it. set_time_limit(N) makes the request
     *   time out (504) N seconds later, never later than request_timeout; 0 gives request_timeout
     *   back.
     * - Output buffers (ob_start()) opened by the request are its own.
     * Sessions and header_register_callback() are not supported yet (they throw an Error). Coroutines a handler spawns run
     * with the thread's own state, not their request's.
     */
    public static function onRequest(callable $handler): bool {}
}

/**
 * The request being served. Created by phpasync, never by user code (methods of a Request
 * made with `new` throw an Error). Every getter may be called any number of times.
 * @strict-properties
 * @not-serializable
 */
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

    /** The raw body (binary-safe; "" when there is none); the same string on every call. */
    public function getBody(): string {}

    /**
     * The query string parsed as $_GET is: URL-decoded, "+" is a space, `a[]=1&a[]=2` and
     * `a[k]=v` give arrays, a repeated plain key keeps its last value; [] without a query.
     */
    public function getQueryParams(): array {}

    /**
     * The cookies parsed as $_COOKIE is: values rawurldecode()d ("+" stays "+"), names as
     * sent, the first of two cookies with one name wins; [] without a Cookie header.
     */
    public function getCookies(): array {}

    /** The Host header as sent, e.g. "localhost:8080" (HTTP/2: the :authority); "" when absent. */
    public function getHost(): string {}

    /** The client's address and port, "ip:port"; IPv6 in brackets, e.g. "[::1]:52100". */
    public function getRemoteAddr(): string {}

    /** "http" or "https". */
    public function getScheme(): string {}

    /** The HTTP version, "HTTP/1.1", "HTTP/1.0" or "HTTP/2.0". */
    public function getProtocolVersion(): string {}

    /**
     * The form fields, with the shapes $_POST would have, for application/x-www-form-urlencoded
     * and multipart/form-data bodies; null for any other Content-Type. Throws
     * UnexpectedValueException for a malformed multipart body (no boundary, no closing line).
     * A multipart body with more parts than max_multipart_body_parts (php.ini; -1, the
     * default, means max_input_vars + max_file_uploads) throws OverflowException (code 413);
     * called from the request's own handler coroutine, the request is answered 413 at once
     * and one warning is logged. Fields over max_input_vars are dropped with one warning.
     */
    public function getParsedBody(): ?array {}

    /**
     * The files of a multipart/form-data body: field => UploadedFile, a list of them for a
     * repeated field or `name[]`, nested arrays for `name[key]`; [] when there are none.
     * Throws as getParsedBody() does for a malformed body.
     */
    public function getUploadedFiles(): array {}
}

/**
 * One file of a multipart/form-data request. Its temp file is removed when the request
 * ends (when phpasync drops the Request) unless moveTo() or move_uploaded_file() moved it.
 * @strict-properties
 * @not-serializable
 */
final class UploadedFile
{
    /**
     * The file name the client sent, without any directory part. filename*= (RFC 6266,
     * UTF-8 or ISO-8859-1, given as UTF-8) wins over filename=.
     */
    public function getName(): string {}

    /** The Content-Type the client sent for the file ("" when none); not checked. */
    public function getType(): string {}

    /** Size in bytes; 0 when getError() is not UPLOAD_ERR_OK. */
    public function getSize(): int {}

    /**
     * Path of the temp file holding the bytes; "" when getError() is not UPLOAD_ERR_OK.
     * is_uploaded_file() and move_uploaded_file() accept it, from the request's handler or a
     * coroutine it spawned, and no other request's.
     */
    public function getTmpName(): string {}

    /**
     * An UPLOAD_ERR_* code: UPLOAD_ERR_OK, UPLOAD_ERR_INI_SIZE (over upload_max_filesize),
     * UPLOAD_ERR_FORM_SIZE (over MAX_FILE_SIZE), UPLOAD_ERR_NO_FILE (empty file name),
     * UPLOAD_ERR_NO_TMP_DIR or UPLOAD_ERR_CANT_WRITE.
     */
    public function getError(): int {}

    /**
     * Moves the temp file to $path (rename, or copy and delete across filesystems). Throws an
     * Error when the file was not uploaded, was moved already or its request has ended,
     * a RuntimeException when the move fails or $path is outside open_basedir.
     */
    public function moveTo(string $path): void {}
}

/**
 * The response of the request being served. write() buffers; end() sends status, headers
 * and body; flush() starts streaming. After end(), write(), flush(), end() and every method
 * that changes status or headers throw an Error: "The response has already ended". After
 * flush(), status and header changes throw an Error: the headers have already been sent.
 * @strict-properties
 * @not-serializable
 */
final class Response
{
    /**
     * Sets the status to send. Throws ValueError outside 200..599: a 1xx (informational)
     * status cannot be the final status of a response (headers_send(103) sends one ahead of it).
     */
    public function setStatus(int $status): void {}

    /** Status to send; 200 until setStatus() or redirect() is called. */
    public function getStatus(): int {}

    /**
     * Replaces every value of the header. Throws ValueError when the name is not an HTTP
     * token or the value contains a control character (bytes 0x00-0x1F except tab, and 0x7F),
     * as Node refuses them. header() and setcookie() throw the same ValueError in a handler.
     */
    public function setHeader(string $name, string $value): void {}

    /**
     * Adds one more value to the header: two Set-Cookie values are sent as two header lines.
     * Throws ValueError as setHeader() does.
     */
    public function addHeader(string $name, string $value): void {}

    /** Removes the header (every value; case-insensitive). Throws ValueError for a name that is not an HTTP token. */
    public function removeHeader(string $name): void {}

    /** The first value of the header (case-insensitive), or null when it is not set. */
    public function getHeader(string $name): ?string {}

    /** Every header set, name (as last set) => list of values. */
    public function getHeaders(): array {}

    /** True once the status and headers are sent: after end() or the first flush(). */
    public function isHeadersSent(): bool {}

    /**
     * Sets Location to $url and the status to $code; the caller still calls end(). Throws
     * ValueError for a code outside 300..399, an empty URL or one with CR, LF or NUL.
     */
    public function redirect(string $url, int $code = 302): void {}

    /**
     * Appends the bytes to the body; strings of at least the copy threshold are sent from
     * PHP's memory without a copy. After flush(), each write() is sent at once and, while
     * more than 1 MiB is not yet written to the client, waits (suspends the coroutine);
     * throws an Error "The client closed the connection" once a streamed client has gone.
     */
    public function write(string $data): void {}

    /**
     * Sends status, headers (without Content-Length: the body is chunked) and what is buffered;
     * later writes stream. Suspends the coroutine while more than 1 MiB sent earlier is not
     * yet written to the client (back-pressure). Throws an Error "The client closed the
     * connection" once it is known that the client has gone.
     */
    public function flush(): void {}

    /**
     * Sends status, headers and the buffered body (or, after flush(), the rest of it); the
     * response is complete. A HEAD request gets the headers only.
     */
    public function end(): void {}
}
}

namespace {

/**
 * Classic worker loop (a Caddyfile `worker` without `async`): waits for the next request of
 * this thread, fills $_SERVER, $_GET, $_POST, $_COOKIE, $_FILES, $_REQUEST and php://input
 * with it, calls $callback() (echo, header(), http_response_code() and setcookie() make the
 * response), sends the response, puts the request state back (superglobals, headers, output
 * buffers) and returns true. $_SERVER names the worker file the script, as FrankenPHP does:
 * SCRIPT_FILENAME, SCRIPT_NAME (its path under the site's root, DOCUMENT_ROOT; "" when it is
 * outside), PATH_INFO and DOCUMENT_URI when the request path names a .php file (split after
 * `.php`: /index.php/users/7 gives PATH_INFO /users/7), PHP_SELF = SCRIPT_NAME . PATH_INFO,
 * PATH_TRANSLATED. $_POST and $_FILES are filled for POST bodies (urlencoded and
 * multipart; move_uploaded_file() takes the files), $_REQUEST is $_GET + $_POST; PHP's default
 * Content-Type is sent when the callback sets none; flush() streams the response; sessions
 * work (session_start() reads the request's cookie; the session is written and closed when
 * the callback returns). Returns false when the server stops, or when the thread restarts
 * its interpreter after max_requests: the worker file should then end (code after its loop
 * runs); calling it again after false throws an Error. An uncaught exception in the callback
 * answers 500 and the loop goes on; exit() ends only the request; a fatal error answers 500
 * and restarts the worker file. A client that goes away stops the callback (its response is
 * dropped) unless it called ignore_user_abort(true): then it runs to its end, with
 * connection_aborted() true. Throws a RuntimeException outside a classic worker (in an
 * async worker: use FrankenPHP\HttpServer::onRequest()), an Error when called from inside a
 * callback or a coroutine.
 */
function frankenphp_handle_request(callable $callback): bool {}

/**
 * Sends the status, headers and body of the current request now (its output buffers flushed
 * first); the callback goes on without the client waiting, and later output is dropped.
 * Returns false when there is no request or its response was already sent.
 */
function frankenphp_finish_request(): bool {}

/**
 * @alias frankenphp_finish_request
 */
function fastcgi_finish_request(): bool {}

/**
 * The headers of the current request, name (as first sent) => value, repeated headers joined
 * with ", "; [] outside a request.
 */
function frankenphp_request_headers(): array {}

/**
 * @alias frankenphp_request_headers
 */
function apache_request_headers(): array {}

/**
 * @alias frankenphp_request_headers
 */
function getallheaders(): array {}

/**
 * The response headers set so far for the current request, name => value (the last value of
 * a header set several times); false outside a request.
 */
function frankenphp_response_headers(): array|false {}

/**
 * @alias frankenphp_response_headers
 */
function apache_response_headers(): array|false {}

/**
 * Sends the status ($status) and the headers set so far now, with what was echoed so far;
 * the rest of the body follows at the end of the request. Returns 0 (also when they were sent
 * already), -1 outside a request. In a classic worker's callback, an async worker's handler
 * and a classic script.
 * A 1xx status (103 Early Hints: header('Link: ...') first) sends an informational response
 * with the headers set so far and changes nothing else: the final response follows, with
 * those headers too. Returns 1 (sent), 3 once the final head has gone out or outside a
 * request, as FrankenPHP. An HTTP/1.0 client gets no 1xx (RFC 9110), HTTP/2 gets it as
 * informational headers. 101 throws a ValueError (not supported yet: a protocol switch); so
 * does a status outside 100..599.
 */
function headers_send(int $status = 200): int {}

}
