//! `scimd account`: who may sign in to the console.

use std::io::BufRead;

use clap::Subcommand;
use scimd::admin;
use scimd::store::accounts;

use super::open;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Make an account: an operator (every team) or one team's admin. The
    /// password is generated and printed once, unless --password-stdin.
    #[command(group(clap::ArgGroup::new("role").required(true).args(["operator", "tenant"])))]
    Create {
        name: String,
        /// Sees and changes every team.
        #[arg(long)]
        operator: bool,
        /// Sees and changes only this team (its name or id).
        #[arg(long)]
        tenant: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated, or --password-stdin); ends the
    /// account's sessions and enables it if it was disabled.
    ResetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Refuse the account's sign-ins and end its sessions.
    Disable { name: String },
    /// Every account: name, team (or operator), created, disabled.
    List,
}

/// The password to set: standard input's first line, or a new random one
/// (printed by the caller).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false));
    }
    let mut bytes = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    Ok((
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes),
        true,
    ))
}

pub fn run(database_url: &str, command: AccountCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        AccountCommand::Create {
            name,
            operator: _,
            tenant,
            password_stdin,
        } => {
            let tenant = tenant.map(|t| admin::find_tenant(conn, &t)).transpose()?;
            let (password, generated) = password(password_stdin)?;
            let account = admin::create_account(conn, &name, tenant.as_ref(), &password)?;
            let role = match &tenant {
                None => "operator (every team)".to_owned(),
                Some(t) => format!("admin of team {}", t.name),
            };
            eprintln!("account {} created: {role}", account.name);
            if generated {
                eprintln!("its password; it will not be shown again:");
                println!("{password}");
            }
        }
        AccountCommand::ResetPassword {
            name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let account = admin::reset_password(conn, &name, &password)?;
            eprintln!("new password for {account}; its sessions have ended");
            if generated {
                println!("{password}");
            }
        }
        AccountCommand::Disable { name } => {
            let account = admin::disable_account(conn, &name)?;
            println!("account {account} disabled; its sessions have ended");
        }
        AccountCommand::List => {
            println!("name\tteam\tcreated\tdisabled");
            for account in accounts::list(conn)? {
                let team = match &account.tenant_id {
                    None => "(operator)".to_owned(),
                    Some(id) => {
                        admin::find_tenant(conn, id).map_or_else(|_| id.clone(), |t| t.name)
                    }
                };
                println!(
                    "{}\t{team}\t{}\t{}",
                    account.name,
                    account.created_at,
                    account.disabled_at.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}
