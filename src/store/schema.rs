// One schema for both backends: only types SQLite and PostgreSQL share
// (UUIDs, JSON and timestamps are text).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        created_at -> Text,
        name_key -> Text,
    }
}

diesel::table! {
    upgrade_notices (seq) {
        seq -> BigInt,
        message -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        label -> Text,
        lookup_prefix -> Text,
        secret_hash -> Text,
        created_at -> Text,
        last_used_at -> Nullable<Text>,
        revoked_at -> Nullable<Text>,
    }
}

diesel::table! {
    members (seq) {
        seq -> BigInt,
        id -> Text,
        tenant_id -> Text,
        user_name -> Nullable<Text>,
        user_name_lower -> Nullable<Text>,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        scim_resource -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
        version -> BigInt,
        deprovisioned_at -> Nullable<Text>,
        team_admin -> Bool,
        subteam_admin -> Bool,
        in_team -> Bool,
    }
}

diesel::table! {
    member_emails (member_id, value_lower) {
        member_id -> Text,
        tenant_id -> Text,
        value_lower -> Text,
    }
}

diesel::table! {
    cards (member_id) {
        member_id -> Text,
        tenant_id -> Text,
        display_name -> Nullable<Text>,
        email -> Nullable<Text>,
        job_title -> Nullable<Text>,
        company -> Nullable<Text>,
        department -> Nullable<Text>,
        phone -> Nullable<Text>,
        location -> Nullable<Text>,
        photo_url -> Nullable<Text>,
        updated_at -> Text,
    }
}

diesel::table! {
    card_links (seq) {
        seq -> BigInt,
        member_id -> Text,
        tenant_id -> Text,
        kind -> Text,
        value -> Text,
        position -> Integer,
        from_template -> Bool,
    }
}

diesel::table! {
    subteams (seq) {
        seq -> BigInt,
        id -> Text,
        tenant_id -> Text,
        display_name -> Text,
        display_name_lower -> Text,
        external_id -> Nullable<Text>,
        scim_resource -> Text,
        created_at -> Text,
        updated_at -> Text,
        version -> BigInt,
        is_subteam -> Bool,
        member_count -> BigInt,
    }
}

diesel::table! {
    subteam_members (subteam_id, member_id) {
        subteam_id -> Text,
        member_id -> Text,
        tenant_id -> Text,
        added_at -> Text,
    }
}

diesel::table! {
    provisioning_events (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        occurred_at -> Text,
        token_label -> Nullable<Text>,
        client -> Text,
        operation -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        resource_name -> Nullable<Text>,
        fields_changed -> Nullable<Text>,
        status -> Integer,
        scim_type -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    tenant_policies (tenant_id) {
        tenant_id -> Text,
        settings -> Text,
        version -> BigInt,
        updated_at -> Text,
    }
}

diesel::table! {
    outbox (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        kind -> Text,
        dedupe_key -> Text,
        member_id -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Text,
        attempts -> Integer,
        next_attempt_at -> Text,
        lease_until -> Nullable<Text>,
        sent_at -> Nullable<Text>,
        failed_at -> Nullable<Text>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    digest_cursors (tenant_id) {
        tenant_id -> Text,
        last_event_seq -> BigInt,
    }
}

diesel::table! {
    held_removals (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        member_id -> Text,
        user_name -> Nullable<Text>,
        kind -> Text,
        held_at -> Text,
        run_started_at -> Text,
        resolution -> Nullable<Text>,
        resolved_at -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
    }
}

diesel::table! {
    removal_guard_runs (tenant_id) {
        tenant_id -> Text,
        run_started_at -> Text,
        checked_through -> Text,
        baseline -> BigInt,
        removals -> BigInt,
    }
}

diesel::table! {
    console_accounts (id) {
        id -> Text,
        name -> Text,
        tenant_id -> Nullable<Text>,
        password_hash -> Text,
        session_epoch -> BigInt,
        created_at -> Text,
        disabled_at -> Nullable<Text>,
        failed_sign_ins -> BigInt,
        last_failed_at -> Nullable<Text>,
    }
}

diesel::table! {
    console_keys (name) {
        name -> Text,
        secret -> Text,
    }
}

diesel::table! {
    failed_reads (tenant_id, hour, client, route, status, scim_type, detail) {
        tenant_id -> Text,
        hour -> Text,
        client -> Text,
        route -> Text,
        status -> Integer,
        scim_type -> Text,
        detail -> Text,
        count -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    failed_reads,
    console_accounts,
    held_removals,
    removal_guard_runs,
    tenants,
    api_tokens,
    members,
    member_emails,
    cards,
    card_links,
    subteams,
    subteam_members,
    provisioning_events,
    tenant_policies,
    outbox,
    digest_cursors,
);
