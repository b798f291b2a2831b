-- Coupons (SPEC 11.3): one row per coupon, listed oldest first. Derived from the coupon events;
-- dropped and rebuilt from position 0 like every read model.
CREATE TABLE coupons
(
    coupon_id      text   PRIMARY KEY,
    -- The coupon's terms as the domain serialises them (JSON).
    terms          text   NOT NULL,
    times_redeemed bigint NOT NULL,
    created_at     text   NOT NULL,
    archived_at    text,
    -- The global position of CouponCreated: the list's order and its page cursor.
    position       bigint NOT NULL
);

CREATE INDEX coupons_by_position ON coupons (position);

-- The Account Summary's discount in force (an ActiveDiscount as the domain serialises it, JSON).
ALTER TABLE account_summaries ADD COLUMN discount text;
