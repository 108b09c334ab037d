<?php
// The classic-PHP hello world nginx + php-fpm serve in the bench: one script run per request.
echo 'hello world';
