#!/usr/bin/env bash
# Prints an nginx config that balances LISTEN (host:port) over the
# cartsync-server instances given as host:port arguments, with every path
# nginx writes under DIR:
#   scripts/nginx-conf.sh DIR 127.0.0.1:8080 127.0.0.1:8081 127.0.0.1:8082
# Run it with `nginx -p DIR -c DIR/nginx.conf` (it stays in the foreground).
set -euo pipefail
dir=$1 listen=$2
shift 2
servers=""
for s in "$@"; do
  # A refused connection marks the instance down for 2 s; the next request
  # goes to another one.
  servers="$servers        server $s max_fails=1 fail_timeout=2s;
"
done
cat <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream cartsync {
$servers        keepalive 64;
    }
    server {
        listen $listen;
        location / {
            proxy_pass http://cartsync;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            # An instance that is down or does not answer: try another. POSTs
            # too (non_idempotent): every cartsync write is idempotent by
            # its mutation id or Idempotency-Key, so a resend to another
            # instance gets the stored result, never a second application
            # (a retried POST /carts at worst leaves an empty cart to expire).
            proxy_next_upstream error timeout non_idempotent;
            proxy_next_upstream_tries 3;
        }
    }
}
CONF
