//! `scimd held`: removals held by a team's deprovisioning guard, and an
//! admin's decision on them.

use clap::Subcommand;
use scimd::admin;
use scimd::service::guard::Decision;
use scimd::store::holds::Held;

use super::open;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct HeldArgs {
    /// List this tenant's held removals.
    #[arg(long, required = true)]
    tenant: Option<String>,
    #[command(subcommand)]
    decision: Option<HeldCommand>,
}

#[derive(Subcommand)]
enum HeldCommand {
    /// Apply held removals: a held deactivation takes the member out of the
    /// team; a held DELETE purges in delete mode and deactivates otherwise.
    Approve(Chosen),
    /// Drop held removals: the members stay in the team.
    Reject(Chosen),
}

#[derive(clap::Args)]
struct Chosen {
    #[arg(long)]
    tenant: String,
    #[command(flatten)]
    which: Which,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct Which {
    /// Every removal the team has held.
    #[arg(long)]
    all: bool,
    /// Held removals by id, as `scimd held --tenant T` lists them.
    ids: Vec<i64>,
}

pub fn run(database_url: &str, args: HeldArgs) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let (decision, chosen) = match args.decision {
        None => {
            let tenant = admin::find_tenant(conn, args.tenant.as_deref().unwrap_or_default())?;
            let held = admin::held_removals(conn, &tenant)?;
            if held.is_empty() {
                println!("tenant {} has no held removals", tenant.name);
                return Ok(());
            }
            println!("id\tkind\tuserName\tmember\theld at\trun began");
            for removal in &held {
                println!("{}", line(removal));
            }
            return Ok(());
        }
        Some(HeldCommand::Approve(chosen)) => (Decision::Approve, chosen),
        Some(HeldCommand::Reject(chosen)) => (Decision::Reject, chosen),
    };
    let tenant = admin::find_tenant(conn, &chosen.tenant)?;
    let ids = (!chosen.which.all).then_some(chosen.which.ids.as_slice());
    let decided = admin::decide_held(conn, &tenant, ids, decision)?;
    let verb = match decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    };
    println!(
        "{verb} {} held removals of tenant {}",
        decided.len(),
        tenant.name
    );
    for removal in &decided {
        println!("{}", line(removal));
    }
    Ok(())
}

fn line(removal: &Held) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        removal.id,
        removal.kind.as_str(),
        removal.user_name.as_deref().unwrap_or("-"),
        removal.member_id,
        removal.held_at,
        removal.run_started_at
    )
}
