#!/bin/sh
# The namespace and our search attributes, on every start (idempotent). SEARCH_ATTRIBUTES is
# "Name=Type ..." from docker-compose.yml. A name that exists with the same type is fine; with a
# different type it is an error to fix by hand (a search attribute's type cannot change).
set -eu
ADDR="--address ${TEMPORAL_ADDRESS}"
NS="--namespace ${TEMPORAL_NAMESPACE}"

tries=0
until temporal operator cluster health $ADDR >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at ${TEMPORAL_ADDRESS} is not healthy" >&2; exit 1; }
  sleep 2
done

if ! temporal operator namespace describe $ADDR $NS >/dev/null 2>&1; then
  temporal operator namespace create $ADDR $NS --retention "${TEMPORAL_RETENTION}"
fi
# a new namespace takes a few seconds to reach every service
tries=0
until temporal operator search-attribute list $ADDR $NS >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "namespace ${TEMPORAL_NAMESPACE} is not ready" >&2; exit 1; }
  sleep 2
done

for pair in ${SEARCH_ATTRIBUTES}; do
  name=${pair%%=*}
  type=${pair#*=}
  if out=$(temporal operator search-attribute create $ADDR $NS --name "$name" --type "$type" 2>&1); then
    echo "search attribute $name ($type): ok"
  elif temporal operator search-attribute list $ADDR $NS | grep -Eq "^[[:space:]]*$name[[:space:]]+$type[[:space:]]*$"; then
    echo "search attribute $name ($type): already exists"
  else
    echo "search attribute $name ($type): $out" >&2
    exit 1
  fi
done
