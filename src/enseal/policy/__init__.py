"""enseal.policy"""
