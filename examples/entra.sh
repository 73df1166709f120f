#!/usr/bin/env bash
# Replays a small Microsoft Entra ID provisioning life cycle against a local scimd.
# Usage: TOKEN=scimd_... ./examples/entra.sh [base URL]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080/api/external/scim}
: "${TOKEN:?set TOKEN to the token scimd printed}"
call() { # method path [body]; an HTTP error prints its body and fails (curl exits 22)
    local method=$1 path=$2 status=0
    echo ">>> $method $path" >&2
    if [ $# -ge 3 ]; then
        curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json" \
             -d "$3" "$BASE$path" || status=$?
    else
        curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $TOKEN" "$BASE$path" || status=$?
    fi
    echo >&2
    # Returned explicitly: inside $(...) bash does not apply `set -e`.
    return "$status"
}
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
GUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
UPN="omar.${GUID:0:8}@contoso.example"
ENT=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User

# "Test connection": a random GUID must find nobody.
call GET "/Users?filter=userName%20eq%20%22$GUID%22"
# Create after a lookup.
call GET "/Users?filter=userName%20eq%20%22$UPN%22"
USER_ID=$(call POST /Users "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"$ENT\"],
  \"externalId\":\"$GUID\",\"userName\":\"$UPN\",\"active\":true,\"displayName\":\"Omar Haddad\",
  \"name\":{\"givenName\":\"Omar\",\"familyName\":\"Haddad\"},
  \"$ENT\":{\"department\":\"Finance\",\"organization\":\"Contoso\"}}" | id_of)
# Updates the way Entra sends them.
call PATCH "/Users/$USER_ID" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[
  {\"op\":\"Replace\",\"path\":\"title\",\"value\":\"Analyst\"},
  {\"op\":\"Add\",\"path\":\"phoneNumbers[type eq \\\"work\\\"].value\",\"value\":\"+353 1 000 0000\"},
  {\"op\":\"Add\",\"path\":\"$ENT:manager\",\"value\":\"manager-object-id\"}]}"
# Group with the user, found by displayName with members excluded.
GROUP_ID=$(call POST /Groups "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],
  \"displayName\":\"Finance ${GUID:0:8}\",\"externalId\":\"$GUID\",\"members\":[]}" | id_of)
call GET "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Finance%20${GUID:0:8}%22"
call PATCH "/Groups/$GROUP_ID" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],
  \"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"$USER_ID\"}]}]}"
# Disable with a string boolean, then delete.
call PATCH "/Users/$USER_ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"Replace","path":"active","value":"False"}]}'
call DELETE "/Users/$USER_ID"
call GET "/Groups/$GROUP_ID"
