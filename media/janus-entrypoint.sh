#!/bin/sh
# Fills the Janus templates from the environment and runs Janus in the foreground.
#   JANUS_API_SECRET (required)   the homeserver's JANUS_API_SECRET
#   JANUS_ADMIN_KEY (required)    the homeserver's WHISPER_JANUS_ADMIN_KEY (VideoRoom room creation)
#   JANUS_RTP_PORTS               media UDP ports (default 20000-20200; publish the same range)
#   JANUS_PUBLIC_IP               the host's public address (nat_1_1_mapping) when behind NAT
set -eu
: "${JANUS_API_SECRET:?set JANUS_API_SECRET}"
: "${JANUS_ADMIN_KEY:?set JANUS_ADMIN_KEY}"
dir=/tmp/janus
mkdir -p "$dir"
nat=""
[ -n "${JANUS_PUBLIC_IP:-}" ] && nat="	nat_1_1_mapping = \"${JANUS_PUBLIC_IP}\""
for f in /templates/*.jcfg; do
  sed -e "s#{{CONFIGS_FOLDER}}#$dir#" -e "s#{{DEBUG_LEVEL}}#${JANUS_DEBUG_LEVEL:-3}#" \
      -e "s#{{API_SECRET}}#${JANUS_API_SECRET}#" -e "s#{{ADMIN_SECRET}}#${JANUS_ADMIN_KEY}#" \
      -e "s#{{RTP_PORT_RANGE}}#${JANUS_RTP_PORTS:-20000-20200}#" -e "s#{{NAT_LINES}}#${nat}#" \
      -e "s#{{WS_PORT}}#8188#" -e "s#{{WS_IP}}#0.0.0.0#" -e "s#{{ADMIN_KEY}}#${JANUS_ADMIN_KEY}#" "$f" > "$dir/$(basename "$f")"
done
exec janus -C "$dir/janus.jcfg" -F "$dir"
