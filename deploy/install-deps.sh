#!/usr/bin/env bash
# Installs what building and testing Tombolo needs, each piece only when it is missing:
# Debian packages for rdkafka's bundled librdkafka (cmake, g++, libcurl headers) and the
# database clients, Chromium; Python packages for the independent Kafka consumer and the
# report's screenshot check used by the tests.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
[ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] || need_apt+=(libcurl4-openssl-dev)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
# Headless Chromium renders the islands report in the tests (a screenshot is checked).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
# …with a font for the report's Chinese labels.
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_apt+=(fonts-wqy-zenhei)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import confluent_kafka, fastavro, openpyxl, PIL' 2>/dev/null; then
  echo "install-deps: pip install confluent-kafka fastavro openpyxl pillow" >&2
  python3 -m pip install --quiet confluent-kafka fastavro openpyxl pillow
fi
