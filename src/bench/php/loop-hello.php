<?php
// The bench's classic worker (a `worker` without `async`): FrankenPHP's worker loop answering
// hello world, the same script nginx + php-fpm run per request (fpm-hello.php), booted once.
$hello = static function (): void {
    echo 'hello world';
};
while (frankenphp_handle_request($hello)) {
}
