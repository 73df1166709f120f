// A peer for scimd's load benchmark (benches/load): SCIMMY's resource model
// behind scimmy-routers on express 4, over the small in-memory store below.
//
//   node server.js PORT TOKEN
//
// The store keeps what a careful in-memory backend would: resources by id,
// users by lower-cased userName and groups by lower-cased displayName (both
// unique, as SCIM wants them case-insensitively), and creation order for
// paging. `userName eq`, `displayName eq` and `id eq` filters are answered
// from the indexes, every other filter by SCIMMY's own matcher. A list
// request hands SCIMMY only the page asked for (see `page`), so the cost of
// a page does not grow with the number of users.

import {randomUUID} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const [port, token] = process.argv.slice(2);
if (!port || !token) {
    console.error("usage: node server.js PORT TOKEN");
    process.exit(2);
}

/** One resource type's records, in creation order, with a unique index on one attribute. */
class Collection {
    constructor(uniqueAttribute) {
        this.uniqueAttribute = uniqueAttribute;
        this.byId = new Map();
        this.byUnique = new Map();
        this.order = [];
        // Position of each id in `order`; rebuilt lazily after a deletion.
        this.position = new Map();
    }

    key(record) {
        const value = record[this.uniqueAttribute];
        return typeof value === "string" ? value.toLowerCase() : undefined;
    }

    get(id) {
        const record = this.byId.get(id);
        if (record === undefined) throw new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);
        return record;
    }

    insert(fields) {
        const key = this.key(fields);
        if (key !== undefined && this.byUnique.has(key))
            throw new SCIMMY.Types.Error(409, "uniqueness", `${this.uniqueAttribute} is already taken`);
        const now = new Date().toISOString();
        const record = {...fields, id: randomUUID(), meta: {created: now, lastModified: now}};
        this.byId.set(record.id, record);
        if (key !== undefined) this.byUnique.set(key, record.id);
        this.position.set(record.id, this.order.length);
        this.order.push(record.id);
        return record;
    }

    replace(id, fields) {
        const old = this.get(id);
        const oldKey = this.key(old);
        const key = this.key(fields);
        if (key !== undefined && key !== oldKey && this.byUnique.has(key))
            throw new SCIMMY.Types.Error(409, "uniqueness", `${this.uniqueAttribute} is already taken`);
        const record = {
            ...fields,
            id,
            meta: {created: old.meta.created, lastModified: new Date().toISOString()},
        };
        this.byId.set(id, record);
        if (oldKey !== undefined) this.byUnique.delete(oldKey);
        if (key !== undefined) this.byUnique.set(key, id);
        return record;
    }

    remove(id) {
        const record = this.get(id);
        this.byId.delete(id);
        const key = this.key(record);
        if (key !== undefined) this.byUnique.delete(key);
        this.order.splice(this.position.get(id), 1);
        this.position = new Map(this.order.map((each, index) => [each, index]));
        return record;
    }

    all() {
        return this.order.map((id) => this.byId.get(id));
    }

    /** Records matching a SCIMMY filter: indexed for `id eq` and `<unique> eq`. */
    find(filter) {
        if (filter === undefined) return this.all();
        if (filter.length === 1) {
            const terms = Object.entries(filter[0]);
            if (terms.length === 1) {
                const [attribute, [operator, value]] = terms[0];
                if (operator === "eq" && typeof value === "string") {
                    const name = attribute.toLowerCase();
                    if (name === "id") {
                        const record = this.byId.get(value);
                        return record === undefined ? [] : [record];
                    }
                    if (name === this.uniqueAttribute.toLowerCase()) {
                        const id = this.byUnique.get(value.toLowerCase());
                        return id === undefined ? [] : [this.byId.get(id)];
                    }
                }
            }
        }
        return filter.match(this.all());
    }
}

const users = new Collection("userName");
const groups = new Collection("displayName");

/** A plain copy of what SCIMMY parsed, without the attributes the server owns. */
function plain(instance) {
    const {id, meta, ...fields} = JSON.parse(JSON.stringify(instance));
    return fields;
}

/**
 * The slice of `records` SCIMMY should render for a list request.
 *
 * SCIMMY's ListResponse slices at `startIndex` itself unless the list it is
 * given is shorter than `startIndex` (or is exactly the tail), so a page is
 * handed over as is when that holds, and otherwise as everything up to the
 * page's end (few records, since `startIndex` is small then), which SCIMMY
 * cuts to the page.
 */
function page(resource, records) {
    const constraints = resource.constraints;
    if (constraints === undefined || constraints.sortBy !== undefined) return records;
    const start = constraints.startIndex ?? 1;
    const count = constraints.count ?? 20;
    constraints.totalResults = records.length;
    const slice = records.slice(start - 1, start - 1 + count);
    if (slice.length < start) return slice;
    // SCIMMY takes a list of exactly `totalResults - startIndex + 1` records
    // for an already cut tail; one record more keeps it from thinking so.
    let end = Math.min(records.length, start - 1 + count);
    if (start > 1 && records.length === end + start - 1) end += 1;
    return records.slice(0, end);
}

function egress(collection) {
    return (resource) => {
        if (resource.id !== undefined) return collection.get(resource.id);
        return page(resource, collection.find(resource.filter));
    };
}

function checkMembers(fields) {
    for (const member of fields.members ?? []) {
        if (!users.byId.has(member.value))
            throw new SCIMMY.Types.Error(400, "invalidValue", `no user with id ${member.value}`);
    }
    return fields;
}

SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false))
    .ingress((resource, instance) => {
        const fields = plain(instance);
        return resource.id === undefined ? users.insert(fields) : users.replace(resource.id, fields);
    })
    .egress(egress(users))
    .degress((resource) => {
        users.remove(resource.id);
    });

SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((resource, instance) => {
        const fields = checkMembers(plain(instance));
        return resource.id === undefined ? groups.insert(fields) : groups.replace(resource.id, fields);
    })
    .egress(egress(groups))
    .degress((resource) => {
        groups.remove(resource.id);
    });

const app = express();
// The ceiling: express without SCIMMY, as scimd's /healthz is actix without SCIM.
app.get("/healthz", (req, res) => res.send("ok"));
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Unauthorized");
        return "bench";
    },
}));
app.listen(Number(port), "127.0.0.1", () => console.log(`SCIMMY listening on 127.0.0.1:${port}`));
