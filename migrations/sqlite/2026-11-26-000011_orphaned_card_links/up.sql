-- A link the sync appended for an email or phone stayed on the card after the
-- IdP removed the value. The card's field decides: an appended link whose
-- field is empty goes. Template links stay (they keep their place).
DELETE FROM card_links
WHERE NOT from_template
  AND kind IN ('email', 'phone')
  AND NOT EXISTS (
    SELECT 1 FROM cards
    WHERE cards.member_id = card_links.member_id
      AND ((card_links.kind = 'email' AND cards.email IS NOT NULL AND cards.email <> '')
        OR (card_links.kind = 'phone' AND cards.phone IS NOT NULL AND cards.phone <> ''))
  );
