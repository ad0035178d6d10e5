//! Tables of this crate.

/// `notifications`: the outbox.
pub mod notification {
    use sea_orm::entity::prelude::*;

    /// One message to send (or sent).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        /// Association.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        /// Notification id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Kind (`bill_ready`…).
        pub kind: String,
        /// What it is about (`bill:<id>`, `payment:<id>`…).
        pub subject_id: String,
        /// Email address.
        pub recipient: String,
        /// The account it is for, if a customer's.
        pub account_id: Option<Uuid>,
        /// customer | staff | operator.
        pub audience: String,
        /// en | es.
        pub locale: String,
        /// Template values (JSON; never secrets or card data).
        pub data: String,
        /// queued | sent | logged | failed_temporary | failed_permanent.
        pub status: String,
        /// Delivery attempts so far.
        pub attempts: i32,
        /// Last error from the SMTP server.
        pub last_error: Option<String>,
        /// The Message-ID sent.
        pub message_id: Option<String>,
        /// When the server accepted it.
        pub sent_at: Option<DateTimeUtc>,
        /// Created (UTC).
        pub created_at: DateTimeUtc,
        /// Last changed (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `notification_preferences`: a customer's language and opt-outs.
pub mod preference {
    use sea_orm::entity::prelude::*;

    /// One account's choices.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_preferences")]
    pub struct Model {
        /// Association.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        /// Row id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The account.
        pub account_id: Uuid,
        /// Preferred language, if chosen.
        pub locale: Option<String>,
        /// Comma-separated non-essential kinds turned off.
        pub disabled_kinds: String,
        /// Last changed (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `notification_settings`: an association's sender settings.
pub mod setting {
    use sea_orm::entity::prelude::*;

    /// One association's settings.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_settings")]
    pub struct Model {
        /// Association.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        /// Row id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The From display name (default: the association's name).
        pub from_name: Option<String>,
        /// Reply-To: the association's contact address.
        pub reply_to: Option<String>,
        /// Where staff notifications go.
        pub staff_address: Option<String>,
        /// Language for customers who chose none.
        pub default_locale: String,
        /// Bill-ready mail: `attach` the bill as a PDF or send the `link`
        /// only.
        pub bill_pdf: String,
        /// Days before the due date a reminder goes out (none: no
        /// reminders).
        pub reminder_days_before: Option<i32>,
        /// The legally required lead time of a shut-off notice, in days
        /// (none: no shut-off notices).
        pub shutoff_lead_days: Option<i32>,
        /// Overdue amount (60 days or older) that puts an account on the
        /// shut-off list, in cents (none: any).
        pub shutoff_min_overdue_cents: Option<i64>,
        /// Use above this many times an account's usual use is flagged
        /// as possibly a leak (bill-run alert, account page, read import).
        pub high_usage_factor: i32,
        /// Whether staff get the daily summary mail.
        pub daily_summary: bool,
        /// Last changed (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

macro_rules! tenant_owned {
    ($($m:ident),*) => {
        $(
            impl aqueduct_tenant::TenantOwned for $m::Entity {
                fn tenant_column() -> Self::Column {
                    $m::Column::TenantId
                }
            }
        )*
    };
}

tenant_owned!(notification, preference, setting);
