//! What is sent, to whom, and whether it can be turned off.

use std::fmt;

/// Who a kind is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// An account holder.
    Customer,
    /// The association's staff.
    Staff,
    /// The platform's operators.
    Operator,
}

impl Audience {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Customer => "customer",
            Audience::Staff => "staff",
            Audience::Operator => "operator",
        }
    }
}

macro_rules! kinds {
    ($($variant:ident => $name:literal, $audience:ident, $essential:literal;)*) => {
        /// A kind of notification.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl Kind {
            /// Every kind.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// Storage and API name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// Who receives it.
            pub fn audience(self) -> Audience {
                match self {
                    $(Kind::$variant => Audience::$audience,)*
                }
            }

            /// Essential kinds (receipts, bills, failures, shut-off
            /// notices) cannot be turned off by the customer.
            pub fn essential(self) -> bool {
                match self {
                    $(Kind::$variant => $essential,)*
                }
            }

            /// Parses the storage name.
            pub fn parse(s: &str) -> Option<Kind> {
                match s {
                    $($name => Some(Kind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    BillReady => "bill_ready", Customer, true;
    PaymentReceived => "payment_received", Customer, true;
    PaymentFailed => "payment_failed", Customer, true;
    RefundIssued => "refund_issued", Customer, true;
    DueReminder => "due_reminder", Customer, false;
    PastDue => "past_due", Customer, true;
    ShutoffNotice => "shutoff_notice", Customer, true;
    AutopayUpcoming => "autopay_upcoming", Customer, false;
    AutopayFailed => "autopay_failed", Customer, true;
    HighUsage => "high_usage", Customer, false;
    BillRunFinished => "bill_run_finished", Staff, true;
    StripeAttention => "stripe_attention", Staff, true;
    DisputeOpened => "dispute_opened", Staff, true;
    PayoutFailed => "payout_failed", Staff, true;
    DailySummary => "daily_summary", Staff, true;
    BackupFailed => "backup_failed", Operator, true;
    QueueStuck => "queue_stuck", Operator, true;
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Delivery state of a notification row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its job.
    Queued,
    /// Accepted by the SMTP server.
    Sent,
    /// Only written to the log by the development sender: not delivered
    /// (staff can resend it once SMTP is configured).
    Logged,
    /// A temporary failure: will be retried.
    FailedTemporary,
    /// Will never be delivered (5xx, invalid address, out of attempts).
    FailedPermanent,
}

impl Status {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Logged => "logged",
            Status::FailedTemporary => "failed_temporary",
            Status::FailedPermanent => "failed_permanent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Kind::parse("nope"), None);
        assert!(!Kind::DueReminder.essential());
        assert!(Kind::ShutoffNotice.essential());
    }
}
