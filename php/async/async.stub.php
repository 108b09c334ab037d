<?php

/**
 * The Async\ API phpasync provides on stock PHP when the true_async extension is not loaded:
 * a subset of TrueAsync's (https://true-async.github.io), same names and semantics where they
 * could be checked against its public stubs and documentation. php/async_arginfo.h is kept by
 * hand from this file.
 *
 * Differences from TrueAsync, on purpose or by necessity:
 * - Stock PHP has no \Cancellation root Throwable: AsyncCancellation extends \Error, so a
 *   `catch (\Exception $e)` still does not swallow a cancellation.
 * - Coroutines run inside phpasync's async worker threads only: spawn(), await(), delay(),
 *   suspend() throw an Error outside a coroutine (the worker file's top level, php-cli).
 *   There is no main coroutine; current_coroutine() returns null there.
 * - A coroutine spawned while a request is served belongs to that request: it counts against
 *   the thread's coroutine bound and is cancelled when the request ends abnormally (uncaught
 *   exception, fatal error, timeout or abort). It is not cancelled when the request ends
 *   normally. Its echo output goes to the log, not into the response.
 * - await()/await_*() accept Async\Coroutine and Async\Timeout objects (the Completables this
 *   subset has); a cancellation that fires stops the wait, it does not cancel what was awaited.
 * - A cancelled Timeout never triggers as a cancellation; awaited directly it throws
 *   AsyncCancellation.
 * - No Scope, Context, Future, Channel, TaskGroup, protect(), spawn_with(), iterate().
 *
 * @generate-class-entries
 */

namespace Async;

/** Marker for what can be awaited. */
interface Awaitable {}

/** An operation that completes once: a Coroutine or a Timeout. */
interface Completable extends Awaitable
{
    public function cancel(?AsyncCancellation $cancellation = null): void;

    public function isCompleted(): bool;

    public function isCancelled(): bool;
}

/**
 * Thrown into a cancelled coroutine at its current or next suspension point (await, delay,
 * suspend, a hooked sleep() or socket wait). An \Error on stock PHP (see above).
 */
class AsyncCancellation extends \Error {}

/** Thrown by await() when its $cancellation (a Coroutine) completes first; previous = its exception. */
class OperationCanceledException extends AsyncCancellation {}

/** Common type of exception (e.g. getException() on a coroutine still running). */
class AsyncException extends \Exception {}

/** Thrown by await()/await_*() when the timeout() given as cancellation fires first. */
class TimeoutException extends \Exception {}

/**
 * A coroutine started by spawn(), or the coroutine serving a request (current_coroutine()).
 * Created by phpasync only: `new Coroutine` throws an Error.
 * @strict-properties
 * @not-serializable
 */
final class Coroutine implements Completable
{
    /** Unique per PHP thread, increasing from 1. */
    public function getId(): int {}

    /** The coroutine's return value once completed, else null. */
    public function getResult(): mixed {}

    /**
     * The Throwable it ended with (an AsyncCancellation when cancelled), or null.
     * @throws AsyncException "Cannot get exception of a running coroutine" before it completed.
     */
    public function getException(): mixed {}

    public function isStarted(): bool {}

    /** Waiting in the run queue for the next scheduler tick. */
    public function isQueued(): bool {}

    public function isRunning(): bool {}

    public function isSuspended(): bool {}

    /** Ended by a cancellation (its AsyncCancellation escaped, or it was cancelled before it started). */
    public function isCancelled(): bool {}

    public function isCancellationRequested(): bool {}

    public function isCompleted(): bool {}

    /**
     * Requests cancellation: $cancellation (default: a new AsyncCancellation "The coroutine was
     * cancelled") is thrown at its current or next suspension point; a coroutine that has not
     * started never runs. Cancelling a completed coroutine, or one whose cancellation is
     * already requested, does nothing (the first reason wins), as in TrueAsync.
     */
    public function cancel(?AsyncCancellation $cancellation = null): void {}

    /**
     * Calls $callback($coroutine) when it completes, in registration order; at once when it
     * already has. A handler that throws is logged and the next one still runs.
     */
    public function finally(\Closure $callback): void {}
}

/**
 * Returned by timeout(); completes (fires) after its delay.
 * @strict-properties
 * @not-serializable
 */
final class Timeout implements Completable
{
    /** Use timeout(). */
    private function __construct() {}

    /** Stops the timer; it never fires. */
    public function cancel(?AsyncCancellation $cancellation = null): void {}

    public function isCompleted(): bool {}

    public function isCancelled(): bool {}
}

/**
 * Starts $task(...$args) in a new coroutine on a pooled fiber of the same PHP thread; it runs
 * once the current coroutine suspends or ends.
 */
function spawn(callable $task, mixed ...$args): Coroutine {}

/**
 * Waits until $awaitable completes: returns its result or rethrows its exception.
 * A $cancellation that completes first throws TimeoutException (a Timeout) or
 * OperationCanceledException (a Coroutine).
 * @throws \Error outside a coroutine, or when a coroutine awaits itself.
 */
function await(Completable $awaitable, ?Completable $cancellation = null): mixed {}

/** The first result of $triggers, or null when it is empty; the first error is thrown. */
function await_any_or_fail(iterable $triggers, ?Awaitable $cancellation = null): mixed {}

/** [the first successful result or null, the errors before it]: errors are collected. */
function await_first_success(iterable $triggers, ?Awaitable $cancellation = null): array {}

/** Every result by its key; the first error seen is thrown (the others go on running). */
function await_all_or_fail(iterable $triggers, ?Awaitable $cancellation = null, bool $preserveKeyOrder = true): array {}

/** [results, errors] of every trigger, by their keys; with $fillNull a failed key has null in results. */
function await_all(iterable $triggers, ?Awaitable $cancellation = null, bool $preserveKeyOrder = true, bool $fillNull = false): array {}

/**
 * Suspends the current coroutine for $ms milliseconds (0: yield to the others).
 * @throws \ValueError when $ms < 0.
 */
function delay(int $ms): void {}

/** Lets the other runnable coroutines run; resumes at the next scheduler tick. */
function suspend(): void {}

/**
 * A Timeout that fires after $ms milliseconds; use it as await()'s $cancellation.
 * @throws \ValueError when $ms <= 0.
 */
function timeout(int $ms): Timeout {}

/** The running coroutine (a request's own coroutine too), or null outside coroutines. */
function current_coroutine(): ?Coroutine {}

/** The coroutines of this PHP thread that have not completed, spawned ones and requests. */
function get_coroutines(): array {}
