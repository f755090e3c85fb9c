#!/bin/sh
# Keys, config and recordings stay: they are evidence, not package files.
set -e
if [ -d /run/systemd/system ]; then
	systemctl stop bastion.service 2>/dev/null || true
	systemctl disable bastion.service 2>/dev/null || true
fi
