SELECT 1; -- the stored value cannot be told apart from one the IdP sent
