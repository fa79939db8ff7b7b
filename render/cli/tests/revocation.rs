//! Revocations render decides from `nauth.lock`: a re-issued user's earlier JWTs and a deleted
//! user's key are revoked in its account JWT, `diff` shows it, and the lock keeps it.

mod common;
mod quickstart;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{nauth_render, text};
use quickstart::copy_manifests;

/// The quickstart's `invoicer` (Account `shop/billing`) and `orders-service` (`shop/orders`),
/// as its committed lock records them, issued at 1764288000 (2025-11-28T00:00:00Z).
const INVOICER: &str = "UASZGOTIXXHAWR4CB3INBCK2VUTI5YUUFGPDUIZZD7P3EM6AJWA2WVXF";
const ORDERS_SERVICE: &str = "UD4QV4BSXATDIXT22NKIDFXCB7X5TCDVJK4NOR2FWY5HKGRB7UJ463DL";

/// `nauth-render render DIR` with the quickstart's keys, writing `DIR/nauth.lock`.
fn render(dir: &Path, epoch: &str) -> Output {
    let keys = quickstart::dir();
    let out = nauth_render(
        &[
            "render",
            dir.to_str().unwrap(),
            keys.join("operator-signing-key.yaml").to_str().unwrap(),
            "--seed-root",
            keys.join("seed-root").to_str().unwrap(),
            "--lock",
            dir.join("nauth.lock").to_str().unwrap(),
            "--issued-at",
            epoch,
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let content = fs::read_to_string(&path).unwrap();
    assert!(content.contains(from), "{file} has no {from:?}");
    fs::write(&path, content.replace(from, to)).unwrap();
}

fn diff(base: &Path, head: &Path) -> Output {
    nauth_render(
        &["diff", base.to_str().unwrap(), head.to_str().unwrap()],
        "",
    )
}

fn lock(dir: &Path) -> String {
    fs::read_to_string(dir.join("nauth.lock")).unwrap()
}

/// A copy of the quickstart (its lock included) to change, and one to compare with.
fn base_and_head() -> (tempfile::TempDir, tempfile::TempDir) {
    let (base, head) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy_manifests(base.path());
    copy_manifests(head.path());
    (base, head)
}

const INVOICER_PERMISSIONS: (&str, &str) = (
    "[\"_INBOX.>\", \"billing.orders.>\"]",
    "[\"billing.orders.>\"]",
);

#[test]
fn a_reissued_user_is_revoked_just_below_its_new_iat_diff_shows_it_and_it_persists() {
    let (base, head) = base_and_head();
    let (from, to) = INVOICER_PERMISSIONS;
    edit(head.path(), "users.yaml", from, to);
    let first = render(head.path(), "1800000000");
    let written = lock(head.path());
    assert!(
        written.contains(
            "  shop/billing:\n    publicKey: ABYXHXTWV7Z5B57KLVRXFU6ZZPKAP7V7U5QG6DWA65DQJQESGORDGJGR\n    \
             issuer: OAJWRB4Q4U2OXL6P5ZKASRSS5EPYORVHIQGTM7JN5DEDR5J4PXXQBZVW\n    claimsHash: "
        ) && written.contains(&format!(
            "    issuedAt: 1800000000\n    revocations:\n      {INVOICER}: 1799999999\n"
        )),
        "{written}"
    );
    // The account JWT's claims, as its ConfigMap shows them, revoke the key; the user keeps it.
    let manifests = text(&first.stdout);
    assert!(
        manifests.contains(&format!(
            "      revocations:\n        {INVOICER}: 1799999999\n"
        )),
        "{manifests}"
    );
    assert!(manifests.contains(&format!("nauth.io/public-key: {INVOICER}\n")));

    let out = diff(base.path(), head.path());
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        text(&out.stdout),
        "Account shop/billing (changed)\n  \
         + revocations[User shop/invoicer (UASZGOTI…)]: 2027-01-15T07:59:59Z\n\
         User shop/invoicer (changed)\n  \
         - sub.allow[\"_INBOX.>\"]\n\
         1 account and 1 user changed.\n"
    );
    assert_eq!(out.status.code(), Some(1));

    // Rendered again later with the written lock: the same bytes, the same lock.
    let again = render(head.path(), "1900000000");
    assert_eq!(text(&again.stdout), text(&first.stdout));
    assert_eq!(lock(head.path()), written);
    let check = nauth_render(&["check", head.path().to_str().unwrap()], "");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn a_deleted_user_is_revoked_at_the_time_of_its_last_jwt() {
    let (base, head) = base_and_head();
    let users = fs::read_to_string(head.path().join("users.yaml")).unwrap();
    let (orders_service, rest) = users.split_once("---\n").unwrap();
    assert!(orders_service.contains("name: orders-service"));
    fs::write(head.path().join("users.yaml"), rest).unwrap();
    render(head.path(), "1800000000");
    let written = lock(head.path());
    assert!(
        written.contains(&format!(
            "    issuedAt: 1800000000\n    revocations:\n      {ORDERS_SERVICE}: 1764288000\n"
        )) && !written.contains("shop/orders-service"),
        "{written}"
    );
    let out = diff(base.path(), head.path());
    assert_eq!(
        text(&out.stdout),
        "Account shop/orders (changed)\n  \
         + revocations[User shop/orders-service (UD4QV4BS…)]: 2025-11-28T00:00:00Z\n\
         User shop/orders-service (removed)\n  \
         - data: -1 (unlimited)\n  \
         - issuer: signing key of Account shop/orders (ADLLTOLT…)\n  \
         - issuer_account: Account shop/orders (AC22CJOR…)\n  \
         - name: \"shop/orders-service\"\n  \
         - payload: -1 (unlimited)\n  \
         - pub.allow[\"orders.events.>\"]\n  \
         - public_key: User shop/orders-service (UD4QV4BS…)\n  \
         - resp.max: 1\n  \
         - resp.ttl: 0\n  \
         - sub.allow[\"orders.lookup.*\"]\n  \
         - subs: -1 (unlimited)\n\
         1 account and 1 user changed.\n"
    );
}

#[test]
fn an_account_annotated_not_to_revoke_on_reissue_keeps_the_earlier_jwts_valid() {
    let (base, head) = base_and_head();
    let annotate = |dir: &Path| {
        edit(
            dir,
            "accounts.yaml",
            "  name: billing\n",
            "  name: billing\n  annotations: {nauth.io/revoke-on-reissue: \"false\"}\n",
        )
    };
    annotate(base.path());
    annotate(head.path());
    let (from, to) = INVOICER_PERMISSIONS;
    edit(head.path(), "users.yaml", from, to);
    render(head.path(), "1800000000");
    assert!(!lock(head.path()).contains("revocations"));
    let out = diff(base.path(), head.path());
    assert_eq!(
        text(&out.stdout),
        "User shop/invoicer (changed)\n  \
         - sub.allow[\"_INBOX.>\"]\n\
         0 accounts and 1 user changed.\n"
    );
}
