#!/bin/sh
# The service user owns /etc/bastion's keys and /var/lib/bastion.
set -e
if ! getent passwd bastion >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/bastion --no-create-home \
		--shell /usr/sbin/nologin --comment "bastion SSH gateway" bastion
fi
