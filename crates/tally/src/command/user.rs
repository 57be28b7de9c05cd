//! `tally user add|passwd|disable|enable|list`: local user management (runs as the
//! machine's administrator, directly on the database).
//!
//! Passwords are read from the `TALLY_PASSWORD` environment variable or, when it is
//! unset, from the first line of standard input, so they never appear in the process
//! list or shell history.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use tally_core::users::{UserRecord, hash_password};
use tally_domain::uid::Uid;

use super::database::{DatabaseArgs, open};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a user (password from TALLY_PASSWORD or the first line of stdin).
    Add {
        username: String,
        /// An authority (repeatable), e.g. ALL, F_DATAVALUE_ADD, F_METADATA_IMPORT.
        #[arg(long = "authority")]
        authorities: Vec<String>,
        /// A user role UID (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A data capture org unit UID (repeatable); it covers its subtree.
        #[arg(long = "org-unit")]
        org_units: Vec<String>,
        /// A data view org unit UID (repeatable); default: the capture units.
        #[arg(long = "view-org-unit")]
        view_org_units: Vec<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        surname: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Set a user's password (from TALLY_PASSWORD or the first line of stdin); ends the
    /// user's sessions.
    Passwd {
        username: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Disable a user: no login, no tokens, sessions end.
    Disable {
        username: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Enable a disabled user.
    Enable {
        username: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List users: username, UID, disabled, authorities.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn read_password() -> anyhow::Result<String> {
    let password = match std::env::var("TALLY_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    Ok(password)
}

fn uids(list: &[String], what: &str) -> anyhow::Result<Vec<Uid>> {
    list.iter()
        .map(|s| Uid::parse(s).with_context(|| format!("{what} {s}")))
        .collect()
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Add {
            username,
            authorities,
            roles,
            org_units,
            view_org_units,
            first_name,
            surname,
            db,
        } => {
            let app = open(&db.database)?;
            let users = app.users();
            if users.record(&username).is_some() {
                bail!("user {username} already exists");
            }
            let snap = app.snapshot();
            let capture = uids(&org_units, "org unit")?;
            let view = uids(&view_org_units, "org unit")?;
            for ou in capture.iter().chain(&view) {
                if snap
                    .org_unit_id(tally_domain::metadata::LookupScheme::Uid, ou.as_str())
                    .is_none()
                {
                    bail!("org unit {ou} does not exist");
                }
            }
            let roles = uids(&roles, "user role")?;
            if let Some(r) = roles.iter().find(|r| users.role(**r).is_none()) {
                bail!("user role {r} does not exist");
            }
            let hash = hash_password(&read_password()?).map_err(anyhow::Error::msg)?;
            let mut record = UserRecord::new(Uid::generate(rand::random::<u64>), &username, hash);
            record.authorities = authorities;
            record.user_roles = roles;
            record.organisation_units = capture;
            record.data_view_organisation_units = view;
            record.first_name = first_name;
            record.surname = surname;
            app.save_users(&[record.clone()])?;
            println!("created user {username} ({})", record.id);
            Ok(())
        }
        Command::Passwd { username, db } => update(&db, &username, |r| {
            r.password_hash = hash_password(&read_password()?).map_err(anyhow::Error::msg)?;
            Ok(())
        }),
        Command::Disable { username, db } => update(&db, &username, |r| {
            r.disabled = true;
            Ok(())
        }),
        Command::Enable { username, db } => update(&db, &username, |r| {
            r.disabled = false;
            Ok(())
        }),
        Command::List { db } => {
            let app = open(&db.database)?;
            let users = app.users();
            let mut all: Vec<_> = users.records().collect();
            all.sort_by(|a, b| a.username.cmp(&b.username));
            for r in all {
                let user = users.get(&r.username).context("user vanished")?;
                println!(
                    "{}\t{}\t{}\t{}",
                    r.username,
                    r.id,
                    if r.disabled { "disabled" } else { "active" },
                    user.authorities.join(",")
                );
            }
            Ok(())
        }
    }
}

fn update(
    db: &DatabaseArgs,
    username: &str,
    change: impl FnOnce(&mut UserRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let app = open(&db.database)?;
    let mut record = app
        .users()
        .record(username)
        .cloned()
        .with_context(|| format!("no user {username}"))?;
    change(&mut record)?;
    app.save_users(&[record])?;
    println!("updated user {username}");
    Ok(())
}
