//! CognitoDirectory against moto's Cognito: a fresh user pool per test, set up by
//! `create_user_pool` as the template sets up production's.

use crate::harness::{cognito_client, moto, unique};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_aws::cognito::{CognitoDirectory, create_user_pool};
use ferry_core::ids::UserId;
use ferry_core::ports::{DirectoryError, NewUser, UserDirectory, UserPatch};
use ferry_core::values::{EmailAddress, Role};
use serde_json::Value;

async fn pool() -> (Client, String) {
    let client = cognito_client().await;
    let pool_id = create_user_pool(&client, &unique("users")).await.unwrap();
    (client, pool_id)
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn new_user(address: &str, roles: &[Role]) -> NewUser {
    NewUser {
        email: email(address),
        name: format!("Name of {address}"),
        roles: roles.to_vec(),
        password: None,
    }
}

fn unknown_id() -> UserId {
    UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
}

async fn groups_in_cognito(client: &Client, pool_id: &str, username: &str) -> Vec<String> {
    let mut groups: Vec<String> = client
        .admin_list_groups_for_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect();
    groups.sort();
    groups
}

#[tokio::test]
async fn created_users_read_back_by_sub_and_by_email() {
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client.clone(), &pool_id);

    let ann = users
        .create(new_user("ann@example.org", &[Role::Member, Role::Admin]))
        .await
        .unwrap();
    assert_eq!(ann.email, email("ann@example.org"));
    assert_eq!(ann.name, "Name of ann@example.org");
    assert_eq!(ann.roles, vec![Role::Admin, Role::Member]);
    assert!(ann.enabled);
    assert!(
        uuid::Uuid::parse_str(ann.id.as_str()).is_ok(),
        "the id is Cognito's sub: {}",
        ann.id
    );

    assert_eq!(users.get(&ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        users.find_by_email(&ann.email).await.unwrap(),
        Some(ann.clone())
    );

    // What Cognito itself holds: the sign-in name is the address, verified so that password
    // resets reach it, and the roles are group memberships.
    let stored = client
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("ann@example.org")
        .send()
        .await
        .unwrap();
    let attribute = |name: &str| {
        stored
            .user_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    assert_eq!(attribute("sub").as_deref(), Some(ann.id.as_str()));
    assert_eq!(attribute("email_verified").as_deref(), Some("true"));
    assert_eq!(
        groups_in_cognito(&client, &pool_id, stored.username()).await,
        ["admin", "member"]
    );

    // A temporary password, when given, is the one the invitation carries.
    let bob = users
        .create(NewUser {
            password: Some("Temporary-password-1".into()),
            ..new_user("bob@example.org", &[])
        })
        .await
        .unwrap();
    assert!(bob.roles.is_empty());
    assert_eq!(users.get(&bob.id).await.unwrap(), Some(bob));

    assert_eq!(users.get(&unknown_id()).await.unwrap(), None);
    assert_eq!(
        users
            .get(&UserId::parse("not-a-sub").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        users
            .find_by_email(&email("nobody@example.org"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_email_has_one_account() {
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client, &pool_id);
    let first = users
        .create(new_user("dup@example.org", &[Role::Member]))
        .await
        .unwrap();
    let again = users
        .create(new_user("dup@example.org", &[Role::Admin]))
        .await;
    assert!(
        matches!(again, Err(DirectoryError::EmailTaken)),
        "{again:?}"
    );
    assert_eq!(users.list().await.unwrap(), vec![first]);
}

#[tokio::test]
async fn a_user_whose_groups_cannot_be_set_is_not_left_behind() {
    let (client, pool_id) = pool().await;
    // A pool missing a role's group: adding the new user to it fails.
    client
        .delete_group()
        .user_pool_id(&pool_id)
        .group_name("admin")
        .send()
        .await
        .unwrap();
    let users = CognitoDirectory::new(client.clone(), &pool_id);
    let created = users
        .create(new_user("half@example.org", &[Role::Admin, Role::Member]))
        .await;
    assert!(
        matches!(created, Err(DirectoryError::Other(_))),
        "{created:?}"
    );
    let left = client
        .list_users()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap();
    assert!(left.users().is_empty(), "{:?}", left.users());
    assert_eq!(
        users
            .find_by_email(&email("half@example.org"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_list_reads_every_page_with_each_users_roles() {
    let (client, pool_id) = pool().await;
    // Two per page: five users and both groups take several pages each.
    let users = CognitoDirectory::new(client.clone(), &pool_id).with_page_size(2);
    let wanted = [
        ("e@example.org", vec![Role::Member]),
        ("a@example.org", vec![Role::Admin, Role::Member]),
        ("d@example.org", vec![]),
        ("b@example.org", vec![Role::Member]),
        ("c@example.org", vec![Role::Admin]),
    ];
    for (address, roles) in &wanted {
        users.create(new_user(address, roles)).await.unwrap();
    }
    // The paging is real: moto hands out a token when there is more to read.
    let first_page = client
        .list_users()
        .user_pool_id(&pool_id)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first_page.users().len(), 2);
    assert!(first_page.pagination_token().is_some());

    let listed = users.list().await.unwrap();
    let seen: Vec<(String, Vec<Role>)> = listed
        .iter()
        .map(|u| (u.email.to_string(), u.roles.clone()))
        .collect();
    let mut expected: Vec<(String, Vec<Role>)> = wanted
        .iter()
        .map(|(a, r)| (a.to_string(), r.clone()))
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
    for user in &listed {
        assert_eq!(users.get(&user.id).await.unwrap().as_ref(), Some(user));
    }
}

#[tokio::test]
async fn updates_change_name_roles_and_enabled() {
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client, &pool_id);
    let cy = users
        .create(new_user("cy@example.org", &[Role::Member]))
        .await
        .unwrap();

    let unchanged = users.update(&cy.id, UserPatch::default()).await.unwrap();
    assert_eq!(unchanged, cy);

    let changed = users
        .update(
            &cy.id,
            UserPatch {
                name: Some("Cy Renamed".into()),
                roles: Some(vec![Role::Admin, Role::Member, Role::Admin]),
                enabled: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Cy Renamed");
    assert_eq!(changed.roles, vec![Role::Admin, Role::Member]);
    assert!(changed.enabled);
    assert_eq!(users.get(&cy.id).await.unwrap(), Some(changed.clone()));

    let demoted = users
        .update(
            &cy.id,
            UserPatch {
                roles: Some(vec![Role::Admin]),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(demoted.roles, vec![Role::Admin]);
    assert_eq!(users.get(&cy.id).await.unwrap(), Some(demoted.clone()));

    let disabled = users
        .update(
            &cy.id,
            UserPatch {
                enabled: Some(false),
                roles: Some(vec![]),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert!(disabled.roles.is_empty());
    assert_eq!(disabled.name, "Cy Renamed");
    assert_eq!(users.get(&cy.id).await.unwrap(), Some(disabled.clone()));
    assert_eq!(users.list().await.unwrap(), vec![disabled]);

    let enabled = users
        .update(
            &cy.id,
            UserPatch {
                enabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(enabled.enabled);
    assert_eq!(users.find_by_email(&cy.email).await.unwrap(), Some(enabled));

    for missing in [unknown_id(), UserId::parse("no-such-user").unwrap()] {
        let patch = UserPatch {
            name: Some("Nobody".into()),
            ..UserPatch::default()
        };
        let updated = users.update(&missing, patch).await;
        assert!(
            matches!(updated, Err(DirectoryError::NotFound)),
            "{updated:?}"
        );
    }
}

#[tokio::test]
async fn a_deleted_user_is_gone() {
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client, &pool_id);
    let dee = users
        .create(new_user("dee@example.org", &[Role::Member]))
        .await
        .unwrap();
    let stays = users
        .create(new_user("stays@example.org", &[Role::Admin]))
        .await
        .unwrap();

    users.delete(&dee.id).await.unwrap();
    assert_eq!(users.get(&dee.id).await.unwrap(), None);
    assert_eq!(users.find_by_email(&dee.email).await.unwrap(), None);
    assert_eq!(users.list().await.unwrap(), vec![stays]);
    let again = users.delete(&dee.id).await;
    assert!(matches!(again, Err(DirectoryError::NotFound)), "{again:?}");
    let unknown = users.delete(&unknown_id()).await;
    assert!(
        matches!(unknown, Err(DirectoryError::NotFound)),
        "{unknown:?}"
    );

    // The address is free again.
    users
        .create(new_user("dee@example.org", &[]))
        .await
        .unwrap();
}

fn claims(jwt: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        let encoded = jwt.split('.').nth(i).expect("a JWT has three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
    };
    (part(0), part(1))
}

/// What the API's verifier relies on in a Cognito access token: its `sub` is the directory's
/// id, its `cognito:groups` the directory's roles, and it names a key the pool publishes. And
/// disabling a user ends their refresh tokens, even once they are enabled again.
#[tokio::test]
async fn tokens_carry_the_directory_id_and_roles_and_disabling_ends_sessions() {
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client.clone(), &pool_id);
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("ferry-test")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client_id = app.user_pool_client().unwrap().client_id().unwrap();
    let eve = users
        .create(new_user("eve@example.org", &[Role::Admin, Role::Member]))
        .await
        .unwrap();
    // Signing in needs a permanent password; the invitation's flow is Cognito's, not Ferry's.
    let password = "Permanent-password-42";
    client
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("eve@example.org")
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    // moto ties a session to the name it was started with and signs out only sessions started
    // with the name the sign-out gives (Cognito resolves both), so this one uses the pool's
    // username for eve, as the directory does.
    let username = client
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("eve@example.org")
        .send()
        .await
        .unwrap()
        .username()
        .to_owned();
    let signed_in = client
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    let tokens = signed_in.authentication_result().unwrap();
    let access = tokens.access_token().unwrap();
    let refresh = tokens.refresh_token().unwrap().to_owned();

    let (header, body) = claims(access);
    assert_eq!(body["sub"], eve.id.as_str());
    assert_eq!(body["token_use"], "access");
    assert_eq!(body["client_id"], client_id);
    assert_eq!(
        body["iss"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")
    );
    let mut groups: Vec<String> = serde_json::from_value(body["cognito:groups"].clone()).unwrap();
    groups.sort();
    assert_eq!(groups, ["admin", "member"]);
    assert_eq!(header["alg"], "RS256");
    let jwks: Value = reqwest::get(format!(
        "{}/{pool_id}/.well-known/jwks.json",
        moto().endpoint
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert!(
        published.iter().any(|k| k["kid"] == header["kid"]),
        "the token's key {} is in the pool's JWKS",
        header["kid"]
    );

    let refreshed = |token: String| {
        let client = client.clone();
        let pool_id = pool_id.clone();
        let client_id = client_id.to_owned();
        async move {
            client
                .admin_initiate_auth()
                .user_pool_id(pool_id)
                .client_id(client_id)
                .auth_flow(AuthFlowType::RefreshTokenAuth)
                .auth_parameters("REFRESH_TOKEN", token)
                .send()
                .await
        }
    };
    assert!(
        refreshed(refresh.clone()).await.is_ok(),
        "the session works"
    );

    for enabled in [false, true] {
        let patch = UserPatch {
            enabled: Some(enabled),
            ..UserPatch::default()
        };
        users.update(&eve.id, patch).await.unwrap();
    }
    let after = refreshed(refresh).await;
    let error = after.expect_err("the refresh token died with the disable");
    assert_eq!(error.code(), Some("NotAuthorizedException"), "{error:?}");
}

#[tokio::test]
async fn machine_clients_are_app_clients_that_name_their_owner() {
    use ferry_core::auth::oidc::MACHINE_SCOPE;
    use ferry_core::ports::MachineClients;
    let (client, pool_id) = pool().await;
    let users = CognitoDirectory::new(client.clone(), &pool_id);
    let owner = UserDirectory::create(&users, new_user("ops@example.org", &[Role::Member]))
        .await
        .unwrap();
    // The portal's own app client is not a machine client.
    client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("ferry-web")
        .send()
        .await
        .unwrap();

    let issued = MachineClients::create(&users, &owner.id, "nightly export")
        .await
        .unwrap();
    assert_eq!(issued.client.owner, owner.id);
    assert_eq!(issued.client.name, "nightly export");
    assert!(!issued.secret.is_empty());
    let stored = client
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&issued.client.id)
        .send()
        .await
        .unwrap();
    let stored = stored.user_pool_client().unwrap();
    assert_eq!(stored.client_secret(), Some(issued.secret.as_str()));
    assert_eq!(stored.allowed_o_auth_scopes(), [MACHINE_SCOPE.to_owned()]);
    assert_eq!(
        stored.allowed_o_auth_flows(),
        [aws_sdk_cognitoidentityprovider::types::OAuthFlowType::ClientCredentials]
    );

    // A second directory, as another function would hold, reads it from Cognito.
    let elsewhere = CognitoDirectory::new(client.clone(), &pool_id);
    let read = MachineClients::get(&elsewhere, &issued.client.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.id.as_str(), &read.owner),
        (issued.client.id.as_str(), &owner.id)
    );
    assert_eq!(
        MachineClients::list(&elsewhere).await.unwrap(),
        vec![read.clone()]
    );
    assert_eq!(
        MachineClients::get(&elsewhere, "nosuchclient0000000000000")
            .await
            .unwrap(),
        None
    );

    MachineClients::delete(&elsewhere, &issued.client.id)
        .await
        .unwrap();
    assert_eq!(
        MachineClients::get(&elsewhere, &issued.client.id)
            .await
            .unwrap(),
        None
    );
    let again = MachineClients::delete(&elsewhere, &issued.client.id).await;
    assert!(matches!(again, Err(DirectoryError::NotFound)), "{again:?}");
}
