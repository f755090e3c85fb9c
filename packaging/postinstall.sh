#!/bin/sh
set -e
install -d -m 0700 -o bastion -g bastion /etc/bastion /var/lib/bastion
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ ! -e /etc/bastion/config.yaml ]; then
	echo "bastion: next, run 'sudo bastion init', add targets and rules, then 'sudo systemctl enable --now bastion'"
fi
