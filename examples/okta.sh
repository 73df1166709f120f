#!/usr/bin/env bash
# Replays a small Okta provisioning life cycle against a local scimd.
# Usage: TOKEN=scimd_... ./examples/okta.sh [base URL]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080/api/external/scim}
: "${TOKEN:?set TOKEN to the token scimd printed}"
call() { # method path [body]; an HTTP error prints its body and fails (curl exits 22)
    local method=$1 path=$2 status=0
    echo ">>> $method $path" >&2
    if [ $# -ge 3 ]; then
        curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
             -d "$3" "$BASE$path" || status=$?
    else
        curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $TOKEN" "$BASE$path" || status=$?
    fi
    echo >&2
    # Returned explicitly: inside $(...) bash does not apply `set -e`.
    return "$status"
}
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
SUFFIX=$RANDOM

# "Test Connector Configuration"
call GET "/Users?startIndex=1&count=1"
call GET "/Groups?startIndex=1&count=1"
# Push New Users: look up by userName, then create.
call GET "/Users?filter=userName%20eq%20%22ann.$SUFFIX@example.com%22"
USER_ID=$(call POST /Users "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],
  \"userName\":\"ann.$SUFFIX@example.com\",\"name\":{\"givenName\":\"Ann\",\"familyName\":\"Lee\"},
  \"emails\":[{\"primary\":true,\"value\":\"ann.$SUFFIX@example.com\",\"type\":\"work\"}],
  \"displayName\":\"Ann Lee\",\"locale\":\"en-US\",\"password\":\"Example-1!\",\"groups\":[],\"active\":true}" | id_of)
# Push Profile Updates: a full PUT.
call PUT "/Users/$USER_ID" "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],
  \"userName\":\"ann.$SUFFIX@example.com\",\"name\":{\"givenName\":\"Ann\",\"familyName\":\"Lee\"},
  \"emails\":[{\"primary\":true,\"value\":\"ann.$SUFFIX@example.com\",\"type\":\"work\"}],
  \"title\":\"Engineering Manager\",\"active\":true}"
# Push Groups: look up, create with the user, rename.
GROUP_ID=$(call POST /Groups "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],
  \"displayName\":\"Engineering $SUFFIX\",\"members\":[{\"value\":\"$USER_ID\"}]}" | id_of)
call PATCH "/Groups/$GROUP_ID" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],
  \"Operations\":[{\"op\":\"replace\",\"value\":{\"id\":\"$GROUP_ID\",\"displayName\":\"Platform $SUFFIX\"}}]}"
# Deactivate, then delete the group.
call PATCH "/Users/$USER_ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"replace","value":{"active":false}}]}'
call DELETE "/Groups/$GROUP_ID"
call GET "/Users/$USER_ID"
